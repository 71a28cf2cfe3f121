"""The seeded whole-system simulation, a short run in the suite: thousands of steps with processor
faults, against the test database, the real Redis, eager Celery tasks, the Stripe emulator over
HTTP and its webhooks delivered over HTTP to the live server. ``make simulate`` runs longer ones.

``HOLDFAST_SIMULATION_SEED`` / ``HOLDFAST_SIMULATION_STEPS`` choose another run of the same test.
"""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
import stripe
from django.conf import settings

from simulation.actions import actions_generate
from simulation.checks import StepChecks, money_reconcile
from simulation.runner import Simulation, simulate
from simulation.world import World

SEED = int(os.environ.get("HOLDFAST_SIMULATION_SEED", "20261207"))
STEPS = int(os.environ.get("HOLDFAST_SIMULATION_STEPS", "5000"))

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(stripe_emulator, live_server):
    return World(emulator=stripe_emulator, site_url=live_server.url, population=max(100, STEPS // 5))


def test_the_same_seed_gives_the_same_actions_and_another_seed_others():
    assert actions_generate(seed=SEED, steps=500) == actions_generate(seed=SEED, steps=500)
    assert actions_generate(seed=SEED, steps=500) != actions_generate(seed=SEED + 1, steps=500)
    with_faults = actions_generate(seed=SEED, steps=500)
    assert sum("fault" in action for action in with_faults) > 50
    assert not any("fault" in action for action in actions_generate(seed=SEED, steps=500, faults=False))


def test_thousands_of_steps_with_processor_faults_lose_create_double_and_strand_nothing(world):
    lines = []
    result = simulate(world, seed=SEED, steps=STEPS, shrink=True, shrink_seconds=240, log=lines.append)
    print("\n".join(lines))
    assert not result.failed, "\n".join(lines)
    assert result.steps == STEPS
    assert result.reconciliation.line() == "money lost 0, created 0, doubled 0, stuck 0"
    # It did what it says: money went every way, and the processor misbehaved.
    for kind in ("pay_card", "pay_wallet", "top_up", "withdraw", "approve", "refund", "open_dispute", "payout_request"):
        assert result.actions[kind] > 0, kind
    assert result.reconciliation.objects["chargebacks"] > 0
    assert result.reconciliation.objects["bank payouts paid"] > 0
    assert sum(result.faults.values()) > 100
    assert {"error_500", "rate_limit_429", "lost_answer", "webhook_drop", "webhook_duplicate"} <= set(result.faults)


def test_the_checks_see_money_the_processor_took_without_holdfast_and_a_status_moved_back(world):
    """The checker is not blind: a short clean run, then a charge Holdfast never heard of, and an
    escrow's status written backwards behind the services' back."""
    simulation = Simulation(world, log=lambda line: None)
    result = simulation.run(actions_generate(seed=SEED, steps=150))
    assert not result.failed, result.failure
    assert money_reconcile(world.emulator).clean

    stripe.PaymentIntent.create(
        amount=12345,
        currency="usd",
        payment_method="pm_card_visa",
        confirm=True,
        api_key=settings.STRIPE_SECRET_KEY,
        api_base=world.emulator.url,
    )
    world.emulator.wait_for_deliveries(timeout=30)
    reconciliation = money_reconcile(world.emulator)
    assert reconciliation.lost == Decimal("123.45") and reconciliation.doubled == 1
    assert reconciliation.line().startswith("money lost 123.45, created 0, doubled 1")

    from payments.models import Escrow

    checks = StepChecks()
    checks.statuses_check()
    released = Escrow.objects.filter(status=Escrow.Status.RELEASED).first()
    assert released is not None
    Escrow.objects.filter(pk=released.pk).update(status=Escrow.Status.FUNDED)
    assert checks.statuses_check() == [f"status_backwards: escrow {released.pk} moved from released to funded"]
