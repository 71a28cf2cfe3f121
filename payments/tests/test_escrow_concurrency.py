"""Escrow under retries, reordering and races: real PostgreSQL (transactions committed), webhooks
delivered by the emulator over HTTP to the running app, threads behind a barrier."""

import contextlib
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import ApplicationError
from marketplace import services as market
from marketplace.models import Task
from payments import escrow as services
from payments.models import Escrow, EscrowEvent, EscrowRefund
from payments.selectors import escrow_payment_error
from payments.tests.factories import escrow_awaiting_payment, escrow_delivered, escrow_funded
from processors.stripe import gateway as stripe_gateway
from processors.stripe.setup import stripe_setup
from wallets.models import JournalEntry
from wallets.selectors import ledger_invariant_violations
from wallets.services import wallet_account_get_or_create

pytestmark = pytest.mark.django_db(transaction=True)


def _pay(escrow, card):
    with contextlib.suppress(stripe_gateway.PaymentError):
        services.escrow_payment_confirm(escrow=escrow, actor=escrow.client, payment_method=card, return_url="http://t/")


@pytest.mark.parametrize("delivery", ["once_in_order", "twice_shuffled"])
def test_webhooks_alone_fund_the_escrow_whatever_their_order(stripe_emulator, live_server, delivery):
    stripe_setup(site_url=live_server.url)
    if delivery == "twice_shuffled":
        stripe_emulator.configure_webhooks(duplicates=2, shuffle=True)
    escrow = escrow_awaiting_payment(amount="100.00")
    _pay(escrow, "pm_card_chargeDeclined")  # a payment_intent.payment_failed that may now arrive late
    _pay(escrow, "pm_card_visa")
    assert stripe_emulator.wait_for_deliveries(timeout=30)

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED
    assert escrow.task.status == Task.Status.IN_PROGRESS
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_FUNDING).count() == 1
    # A stale payment_failed never moves a funded escrow back or shows an old error.
    assert escrow_payment_error(escrow=escrow) == ""
    # The decline is on the timeline once, whether the confirm call or the webhook saw it first.
    assert escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_FAILED).count() == 1
    assert ledger_invariant_violations() == []


def test_charge_refunded_webhook_completes_a_refund_left_pending(stripe_emulator, live_server):
    stripe_setup(site_url=live_server.url)
    escrow = escrow_awaiting_payment()
    _pay(escrow, "pm_card_visa")
    assert stripe_emulator.wait_for_deliveries(timeout=30)
    escrow.refresh_from_db()
    # The app reserved a refund and Stripe made it, but the process died before recording it.
    refund = services.escrow_refund_reserve(escrow=escrow, amount=Decimal("10.00"), actor=None, reason="Partial")
    stripe_gateway.refund_create(
        payment_intent_id=escrow.payment.reference,
        amount=escrow.money("client_fee") * 2,
        key=stripe_gateway.idempotency_key("escrow-refund", refund.pk),
        metadata={"escrow_id": str(escrow.pk), "escrow_refund_id": str(refund.pk)},
    )
    assert stripe_emulator.wait_for_deliveries(timeout=30)
    refund.refresh_from_db()
    assert refund.status == EscrowRefund.Status.SUCCEEDED
    assert ledger_invariant_violations() == []


def _race(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes = []

    def run(call):
        try:
            barrier.wait()
            outcomes.append(call())
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("round_", range(3))
def test_approve_auto_release_and_refund_at_once_have_one_outcome(stripe_emulator, round_):
    escrow = escrow_delivered(amount="100.00")
    Escrow.objects.filter(pk=escrow.pk).update(release_due_at=timezone.now() - timedelta(seconds=1))

    _race(
        lambda: services.escrow_approve(escrow=escrow, actor=escrow.client),
        lambda: services.escrows_release_due(),
        lambda: services.escrow_refund(escrow=escrow, amount=None, actor=None, reason="Client complaint"),
    )

    escrow.refresh_from_db()
    releases = JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_RELEASE).count()
    refunds_done = escrow.refunds.filter(status=EscrowRefund.Status.SUCCEEDED).count()
    tasker_wallet = wallet_account_get_or_create(user=escrow.tasker, currency="USD")
    charge = stripe_gateway.charge_retrieve(escrow.payment.charge_reference)
    if escrow.status == Escrow.Status.RELEASED:
        assert (releases, refunds_done, tasker_wallet.balance, charge.amount_refunded) == (1, 0, Decimal("80.00"), 0)
        assert escrow.task.status == Task.Status.COMPLETED
    else:
        assert escrow.status == Escrow.Status.REFUNDED
        assert (releases, refunds_done, tasker_wallet.balance, charge.amount_refunded) == (0, 1, Decimal("0"), 10500)
        assert escrow.task.status == Task.Status.CANCELLED
    assert ledger_invariant_violations() == []


def test_two_sweepers_release_each_escrow_once(stripe_emulator):
    escrows = [escrow_delivered(amount="20.00") for _ in range(6)]
    Escrow.objects.update(release_due_at=timezone.now() - timedelta(seconds=1))
    counts = _race(
        lambda: services.escrows_release_due(batch_size=2), lambda: services.escrows_release_due(batch_size=2)
    )
    assert sum(counts) == len(escrows)
    assert set(Escrow.objects.values_list("status", flat=True)) == {Escrow.Status.RELEASED}
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_RELEASE).count() == len(escrows)
    assert ledger_invariant_violations() == []


def _while_the_escrow_is_locked(escrow, waiting_call, then):
    """Hold the escrow's row lock, start ``waiting_call`` in a thread, and once it is blocked on
    that lock run ``then`` in the lock holder's transaction and commit. Returns what the call
    returned, or its error code."""
    from django.db import transaction

    outcome = []

    def run():
        try:
            outcome.append(waiting_call())
        except ApplicationError as exc:
            outcome.append(exc.code)
        finally:
            connection.close()

    with transaction.atomic():
        Escrow.objects.select_for_update().get(pk=escrow.pk)
        waiter = threading.Thread(target=run)
        waiter.start()
        deadline = time.monotonic() + 30
        while not _someone_waits_for_a_lock():
            assert time.monotonic() < deadline, "the call never waited for the escrow's lock"
            time.sleep(0.05)
        then()
    waiter.join(timeout=60)
    return outcome[0]


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction the activity view is a snapshot taken at its first read: clear it.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid())"
        )
        return cursor.fetchone()[0]


def test_an_approval_that_waited_for_a_request_for_changes_is_refused(stripe_emulator):
    escrow = escrow_delivered(amount="100.00")

    outcome = _while_the_escrow_is_locked(
        escrow,
        lambda: services.escrow_approve(escrow=escrow, actor=escrow.client),
        then=lambda: market.task_request_changes(task=escrow.task, actor=escrow.client, reason="Door is crooked"),
    )

    assert outcome == "escrow_not_delivered"
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.release_due_at is None
    assert escrow.task.status == Task.Status.IN_PROGRESS
    assert not JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_RELEASE).exists()
    assert ledger_invariant_violations() == []


def test_a_cancel_that_waited_for_the_delivery_is_refused(stripe_emulator):
    escrow = escrow_funded(amount="100.00")

    outcome = _while_the_escrow_is_locked(
        escrow,
        lambda: services.escrow_cancel(escrow=escrow, actor=escrow.client, reason=""),
        then=lambda: market.task_mark_delivered(task=escrow.task, actor=escrow.tasker),
    )

    assert outcome == "escrow_delivered"
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.refunded_amount == 0
    assert escrow.task.status == Task.Status.DELIVERED
    assert not escrow.refunds.exists()
    assert stripe_gateway.charge_retrieve(escrow.payment.charge_reference).amount_refunded == 0
    assert ledger_invariant_violations() == []


def test_a_dashboard_refund_reported_by_two_events_at_once_is_taken_in_once(stripe_emulator, monkeypatch):
    from moneyed import Money

    escrow = escrow_funded(amount="100.00")
    stripe_gateway.refund_create(
        payment_intent_id=escrow.payment.reference, amount=Money(Decimal("30.00"), "USD"), key="dashboard"
    )
    outcomes = _race(
        lambda: services.escrow_refunds_settle_for_charge(
            charge_reference=escrow.payment.charge_reference, event_id="evt_refunded"
        ),
        lambda: services.escrow_refunds_settle_for_charge(
            charge_reference=escrow.payment.charge_reference, event_id="evt_updated"
        ),
    )

    assert sorted(outcomes) == [0, 1]
    escrow.refresh_from_db()
    assert escrow.refunded_amount == Decimal("30.00") and escrow.refunds.count() == 1
    assert stripe_gateway.charge_retrieve(escrow.payment.charge_reference).amount_refunded == 3000
    assert ledger_invariant_violations() == []
