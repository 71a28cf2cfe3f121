"""Holds: the entry points disputes and chargebacks call. A frozen escrow keeps its money out of
every release, refund and cancel until it is ruled on or the hold is lifted; each ruling moves the
money once, through the ledger, and the task follows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from marketplace import services as market
from marketplace.models import Task
from payments import escrow as services
from payments.models import Escrow, EscrowEvent
from payments.tests.factories import escrow_awaiting_payment, escrow_delivered, escrow_funded
from processors.stripe import gateway as stripe_gateway
from wallets.models import LedgerAccount
from wallets.services import wallet_account_get_or_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulated_escrows")]


def _held(escrow) -> Decimal:
    return LedgerAccount.objects.get(kind=LedgerAccount.Kind.ESCROW, owner_id=str(escrow.pk)).balance


def _wallet(escrow) -> Decimal:
    return wallet_account_get_or_create(user=escrow.tasker, currency=escrow.currency).balance


def _code(call) -> str:
    with pytest.raises(ApplicationError) as exc:
        call()
    return exc.value.code


def test_a_frozen_escrow_is_out_of_reach_of_release_approve_cancel_and_the_sweeper():
    escrow = escrow_delivered(amount="100.00")  # client total 105.00, review window running
    frozen = services.escrow_freeze(escrow=escrow, actor=escrow.tasker, reason="Not as described")
    assert frozen.status == Escrow.Status.DISPUTED and frozen.release_due_at is None
    assert services.escrow_freeze(escrow=escrow, actor=escrow.tasker, reason="Again").status == Escrow.Status.DISPUTED
    assert escrow.events.filter(kind=EscrowEvent.Kind.DISPUTED).count() == 1

    assert _code(lambda: services.escrow_approve(escrow=escrow, actor=escrow.client)) == "escrow_not_releasable"
    assert _code(lambda: services.escrow_cancel(escrow=escrow, actor=escrow.client, reason="x")) == (
        "escrow_not_cancellable"
    )
    Escrow.objects.filter(pk=escrow.pk).update(release_due_at=timezone.now() - timedelta(days=1))
    assert services.escrows_release_due() == 0

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.DISPUTED and _held(escrow) == Decimal("105.00") and _wallet(escrow) == 0


def test_only_money_still_held_can_be_frozen():
    unpaid = escrow_awaiting_payment()
    assert _code(lambda: services.escrow_freeze(escrow=unpaid, actor=None, reason="x")) == "escrow_not_disputable"
    unpaid.refresh_from_db()
    assert unpaid.status == Escrow.Status.AWAITING_PAYMENT


@pytest.mark.parametrize("delivered", [True, False], ids=["delivered", "not-delivered"])
def test_lifting_the_hold_restores_funded_and_restarts_a_running_review_window(delivered):
    escrow = escrow_delivered() if delivered else escrow_funded()
    services.escrow_freeze(escrow=escrow, actor=escrow.client, reason="Quality")
    before = timezone.now()

    lifted = services.escrow_unfreeze(escrow=escrow, actor=escrow.client, reason="Withdrawn")

    assert lifted.status == Escrow.Status.FUNDED
    if delivered:
        assert lifted.release_due_at >= before + escrow.review_window - timedelta(seconds=5)
    else:
        assert lifted.release_due_at is None
    assert escrow.events.filter(kind=EscrowEvent.Kind.UNFROZEN).count() == 1


def test_ruling_release_pays_the_tasker_and_completes_the_task():
    escrow = escrow_delivered(amount="100.00")
    services.escrow_freeze(escrow=escrow, actor=escrow.client, reason="Quality")

    ruled = services.escrow_rule(escrow=escrow, actor=None, outcome="release", reason="Work matches the brief")
    again = services.escrow_rule(escrow=escrow, actor=None, outcome="release", reason="Twice")

    assert ruled.status == again.status == Escrow.Status.RELEASED
    assert _wallet(escrow) == Decimal("80.00") and _held(escrow) == 0
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.COMPLETED


def test_ruling_refund_returns_everything_to_the_card_and_cancels_the_task():
    escrow = escrow_delivered(amount="100.00")
    services.escrow_freeze(escrow=escrow, actor=escrow.client, reason="Not delivered")

    ruled = services.escrow_rule(escrow=escrow, actor=None, outcome="refund", reason="Nothing was delivered")

    assert ruled.status == Escrow.Status.REFUNDED and _held(escrow) == 0 and _wallet(escrow) == 0
    assert stripe_gateway.charge_retrieve(escrow.payment.charge_reference).amount_refunded == 10500
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.CANCELLED


def test_ruling_split_refunds_part_and_releases_the_rest_with_the_fees_unwound():
    escrow = escrow_delivered(amount="100.00")  # 105.00 held: 100 work + 5 fee; net 80
    services.escrow_freeze(escrow=escrow, actor=escrow.client, reason="Half done")

    ruled = services.escrow_rule(
        escrow=escrow, actor=None, outcome="split", reason="Half the work", client_refund=Decimal("52.50")
    )
    services.escrow_rule(escrow=escrow, actor=None, outcome="split", reason="Twice", client_refund=Decimal("52.50"))

    assert ruled.status == Escrow.Status.SPLIT
    assert stripe_gateway.charge_retrieve(escrow.payment.charge_reference).amount_refunded == 5250
    assert _wallet(escrow) == Decimal("40.00") and _held(escrow) == 0  # half the net: the fee rule
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.COMPLETED


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (None, "split_amount_required"),
        (Decimal("0"), "amount_not_positive"),
        (Decimal("105.00"), "split_amount_invalid"),
    ],
)
def test_a_split_must_leave_something_on_each_side(amount, code):
    escrow = escrow_funded(amount="100.00")
    services.escrow_freeze(escrow=escrow, actor=escrow.client, reason="Half done")
    assert (
        _code(
            lambda: services.escrow_rule(escrow=escrow, actor=None, outcome="split", reason="x", client_refund=amount)
        )
        == code
    )
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.DISPUTED and escrow.refunded_amount == 0


def test_only_a_disputed_escrow_is_ruled_on():
    escrow = escrow_funded()
    assert _code(lambda: services.escrow_rule(escrow=escrow, actor=None, outcome="release", reason="x")) == (
        "escrow_not_disputed"
    )
    assert _code(lambda: services.escrow_rule(escrow=escrow, actor=None, outcome="pay-me", reason="x")) == (
        "ruling_invalid"
    )
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED


def test_a_task_with_two_escrows_completes_with_its_last_one():
    """Milestones: several escrows per task. Nothing assumes one; the task follows the last open one."""
    first = escrow_delivered(amount="60.00")
    task = first.task
    second = services.escrow_create(
        task_id=task.pk,
        offer_id=first.offer_id,
        client=first.client,
        tasker=first.tasker,
        amount=first.offer.amount,
        actor=first.client,
    )
    assert second.pk == first.pk  # one escrow per offer: the same offer gives the same escrow
    from marketplace.tests.factories import OfferFactory

    milestone_offer = OfferFactory(task=task, tasker=first.tasker, status="withdrawn")
    milestone = services.escrow_create(
        task_id=task.pk,
        offer_id=milestone_offer.pk,
        client=first.client,
        tasker=first.tasker,
        amount=milestone_offer.amount,
        actor=first.client,
    )
    from payments.tests.factories import escrow_pay

    escrow_pay(milestone)
    market.task_mark_delivered(task=task, actor=first.tasker)  # already delivered: unchanged

    services.escrow_release(escrow=first, actor=None, reason="Milestone 1")
    task.refresh_from_db()
    assert task.status == Task.Status.DELIVERED  # the second escrow still holds money

    services.escrow_release(escrow=milestone, actor=None, reason="Milestone 2")
    task.refresh_from_db()
    assert task.status == Task.Status.COMPLETED


def test_a_split_whose_refund_stripe_has_not_confirmed_finishes_on_a_later_run_refunding_once(monkeypatch):
    escrow = escrow_delivered(amount="100.00")  # 105.00 held
    services.escrow_freeze(escrow=escrow, actor=escrow.client, reason="Half done")
    real = stripe_gateway.refund_create

    def answered_pending(**kwargs):  # Stripe makes the refund but answers "pending"
        refund = real(**kwargs)
        refund["status"] = "pending"
        return refund

    monkeypatch.setattr(stripe_gateway, "refund_create", answered_pending)
    rule = lambda: services.escrow_rule(  # noqa: E731
        escrow=escrow, actor=None, outcome="split", reason="Half the work", client_refund=Decimal("52.50")
    )
    assert _code(rule) == "refund_pending"
    assert _code(rule) == "refund_pending"  # run again too early: nothing more is refunded
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.DISPUTED and _wallet(escrow) == 0

    monkeypatch.setattr(stripe_gateway, "refund_create", real)
    services.escrow_refunds_settle_for_charge(charge_reference=escrow.payment.charge_reference)  # its webhook
    assert rule().status == Escrow.Status.SPLIT

    assert stripe_gateway.charge_retrieve(escrow.payment.charge_reference).amount_refunded == 5250  # once
    assert _wallet(escrow) == Decimal("40.00") and _held(escrow) == 0
