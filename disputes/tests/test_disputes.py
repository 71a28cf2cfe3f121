"""Disputes between a client and a tasker, through the services, on the real database and the emulator:
open → respond → rule (release, refund, split), settle by agreement, withdraw, the deadline, and
maker-checker. Every money outcome is checked in the ledger and at Stripe."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from disputes import services
from disputes.models import Dispute, DisputeEvent
from disputes.tests.factories import dispute_opened, png, support
from marketplace.models import Task
from payments.escrow import escrow_approve, escrow_cancel, escrow_refund, escrows_release_due
from payments.models import Escrow, EscrowEvent
from payments.tests.factories import escrow_awaiting_payment, escrow_delivered, escrow_funded
from processors.stripe import gateway
from wallets.models import LedgerAccount
from wallets.services import wallet_account_get_or_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulated")]


def _code(call) -> str:
    with pytest.raises(ApplicationError) as exc:
        call()
    return exc.value.code


def _held(escrow) -> Decimal:
    return LedgerAccount.objects.get(kind=LedgerAccount.Kind.ESCROW, owner_id=str(escrow.pk)).balance


def _wallet(escrow) -> Decimal:
    return wallet_account_get_or_create(user=escrow.tasker, currency=escrow.currency).balance


def _refunded_at_stripe(escrow) -> int:
    return gateway.charge_retrieve(escrow.payment.charge_reference).amount_refunded


def test_opening_freezes_the_escrow_against_release_approve_cancel_refund_and_the_sweeper():
    escrow = escrow_delivered(amount="100.00")
    dispute = dispute_opened(escrow, by=escrow.client, reason="not_as_described")

    escrow.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN and dispute.amount_in_question == Decimal("105.00")
    assert escrow.status == Escrow.Status.DISPUTED and escrow.release_due_at is None
    assert dispute.respond_by > timezone.now() + timedelta(days=2)
    assert _code(lambda: escrow_approve(escrow=escrow, actor=escrow.client)) == "escrow_not_releasable"
    assert _code(lambda: escrow_cancel(escrow=escrow, actor=escrow.client, reason="x")) == "escrow_not_cancellable"
    assert _code(lambda: escrow_refund(escrow=escrow, amount=None, actor=None, reason="Finance")) == "escrow_disputed"
    Escrow.objects.filter(pk=escrow.pk).update(release_due_at=timezone.now() - timedelta(days=1))
    assert escrows_release_due() == 0
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.DISPUTED and _held(escrow) == Decimal("105.00") and _wallet(escrow) == 0
    assert escrow.events.filter(kind=EscrowEvent.Kind.DISPUTED).count() == 1
    assert dispute.events.filter(kind=DisputeEvent.Kind.OPENED).count() == 1


def test_either_party_may_open_but_not_twice_not_a_stranger_and_not_once_released():
    escrow = escrow_funded()
    from accounts.tests.factories import UserFactory

    assert _code(lambda: dispute_opened(escrow, by=UserFactory())) == "escrow_not_found"
    dispute_opened(escrow, by=escrow.tasker, reason="cancelled")
    assert _code(lambda: dispute_opened(escrow, by=escrow.client)) == "dispute_already_open"
    assert Dispute.objects.filter(escrow=escrow).count() == 1

    released = escrow_delivered()
    escrow_approve(escrow=released, actor=released.client)
    assert _code(lambda: dispute_opened(released)) == "escrow_not_disputable"
    unpaid = escrow_awaiting_payment()
    assert _code(lambda: dispute_opened(unpaid)) == "escrow_not_disputable"
    assert not Dispute.objects.filter(escrow__in=[released, unpaid]).exists()


@pytest.mark.parametrize(
    ("reason", "description", "amount", "code"),
    [
        ("because", "x", None, "reason_invalid"),
        ("quality", "   ", None, "description_required"),
        ("quality", "x" * 5001, None, "description_too_long"),
        ("quality", "Bad", "200.00", "amount_exceeds_held"),
        ("quality", "Bad", "-5", "amount_not_positive"),
        ("quality", "Bad", "1,5", "amount_invalid"),
        ("quality", "Bad", "0", "amount_not_positive"),
    ],
)
def test_bad_input_to_open_is_refused_and_changes_nothing(reason, description, amount, code):
    escrow = escrow_funded(amount="100.00")
    assert (
        _code(
            lambda: services.dispute_open(
                escrow=escrow, actor=escrow.client, reason=reason, description=description, amount_in_question=amount
            )
        )
        == code
    )
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and not Dispute.objects.exists()


def test_respond_then_support_rules_release_and_the_task_completes():
    escrow = escrow_delivered(amount="100.00")
    dispute = dispute_opened(escrow)
    services.dispute_message_post(dispute=dispute, actor=escrow.tasker, body="They are level; see the photo.")
    services.dispute_evidence_add(dispute=dispute, actor=escrow.tasker, upload=png())
    dispute.refresh_from_db()
    assert dispute.responded_at is not None
    agent = support()
    services.dispute_assign(dispute=dispute, actor=agent)

    ruled = services.dispute_rule(dispute=dispute, actor=agent, outcome="release", reason="Work matches the brief")

    escrow.refresh_from_db()
    assert ruled.status == Dispute.Status.RESOLVED and ruled.outcome == "release" and ruled.ruled_by == agent
    assert escrow.status == Escrow.Status.RELEASED and _wallet(escrow) == Decimal("80.00") and _held(escrow) == 0
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.COMPLETED
    kinds = list(dispute.events.values_list("kind", flat=True))
    assert kinds[0] == "opened" and "responded" in kinds and "assigned" in kinds and kinds[-1] == "ruled"


def test_rule_refund_gives_everything_back_at_stripe():
    escrow = escrow_funded(amount="100.00")
    dispute = dispute_opened(escrow, reason="not_delivered")
    services.dispute_rule(dispute=dispute, actor=support(), outcome="refund", reason="Nothing was delivered")
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED and _refunded_at_stripe(escrow) == 10500
    assert _held(escrow) == 0 and _wallet(escrow) == 0


def test_rule_split_refunds_part_releases_the_rest_once():
    escrow = escrow_delivered(amount="100.00")
    dispute = dispute_opened(escrow)
    agent = support()
    services.dispute_rule(dispute=dispute, actor=agent, outcome="split", reason="Half", client_refund="52.50")
    services.dispute_rule(dispute=dispute, actor=agent, outcome="split", reason="Again", client_refund="52.50")
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.SPLIT and _refunded_at_stripe(escrow) == 5250
    assert _wallet(escrow) == Decimal("40.00") and _held(escrow) == 0
    assert (
        _code(lambda: services.dispute_rule(dispute=dispute, actor=agent, outcome="refund", reason="Changed my mind"))
        == "dispute_already_ruled"
    )


@pytest.mark.parametrize(
    ("client_refund", "code"),
    [
        ("105.00", "split_amount_invalid"),
        ("500.00", "amount_exceeds_held"),
        ("-1", "amount_not_positive"),
        (None, "split_amount_required"),
    ],
)
def test_a_bad_split_is_refused_and_moves_nothing(client_refund, code):
    escrow = escrow_funded(amount="100.00")
    dispute = dispute_opened(escrow)
    assert (
        _code(
            lambda: services.dispute_rule(
                dispute=dispute, actor=support(), outcome="split", reason="x", client_refund=client_refund
            )
        )
        == code
    )
    escrow.refresh_from_db()
    dispute.refresh_from_db()
    assert escrow.status == Escrow.Status.DISPUTED and escrow.refunded_amount == 0 and dispute.outcome == ""


def test_only_support_may_rule():
    escrow = escrow_funded()
    dispute = dispute_opened(escrow)
    from disputes.tests.factories import finance

    for who in (escrow.client, escrow.tasker, finance()):
        assert _code(lambda: services.dispute_rule(dispute=dispute, actor=who, outcome="release", reason="x")) == (
            "ruling_not_allowed"
        )
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.DISPUTED


def test_the_parties_settle_by_agreement_carried_out_as_a_split():
    escrow = escrow_delivered(amount="100.00")  # 105.00 held
    dispute = dispute_opened(escrow)
    services.dispute_settlement_propose(dispute=dispute, actor=escrow.tasker, tasker_amount="52.50")
    assert _code(lambda: services.dispute_settlement_accept(dispute=dispute, actor=escrow.tasker)) == "own_proposal"

    settled = services.dispute_settlement_accept(dispute=dispute, actor=escrow.client, tasker_amount="52.50")

    escrow.refresh_from_db()
    assert settled.status == Dispute.Status.RESOLVED and settled.by_agreement and settled.outcome == "split"
    assert escrow.status == Escrow.Status.SPLIT and _refunded_at_stripe(escrow) == 5250
    assert _wallet(escrow) == Decimal("40.00")


def test_a_settlement_of_nothing_to_the_tasker_is_a_full_refund():
    escrow = escrow_funded(amount="100.00")
    dispute = dispute_opened(escrow, by=escrow.client, reason="cancelled")
    services.dispute_settlement_propose(dispute=dispute, actor=escrow.client, tasker_amount="0")
    services.dispute_settlement_accept(dispute=dispute, actor=escrow.tasker)
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED and _refunded_at_stripe(escrow) == 10500


def test_withdraw_puts_the_escrow_back_with_the_review_window_restarted():
    escrow = escrow_delivered()
    dispute = dispute_opened(escrow, by=escrow.client)
    assert _code(lambda: services.dispute_withdraw(dispute=dispute, actor=escrow.tasker)) == "not_the_opener"
    before = timezone.now()

    withdrawn = services.dispute_withdraw(dispute=dispute, actor=escrow.client)
    services.dispute_withdraw(dispute=dispute, actor=escrow.client)  # twice: harmless

    escrow.refresh_from_db()
    assert withdrawn.status == Dispute.Status.WITHDRAWN and escrow.status == Escrow.Status.FUNDED
    assert escrow.release_due_at >= before + escrow.review_window - timedelta(seconds=5)
    assert escrow.events.filter(kind=EscrowEvent.Kind.UNFROZEN).count() == 1
    # A new dispute can be opened afterwards (only one active at a time).
    assert dispute_opened(escrow, by=escrow.tasker).status == Dispute.Status.OPEN


def test_without_a_response_by_the_deadline_the_dispute_goes_to_supports_queue():
    escrow = escrow_funded()
    dispute = dispute_opened(escrow)
    assert services.disputes_escalate_overdue() == 0
    later = timezone.now() + timedelta(days=3, minutes=1)

    assert services.disputes_escalate_overdue(now=later) == 1
    assert services.disputes_escalate_overdue(now=later) == 0

    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.UNDER_REVIEW and dispute.escalated_at is not None
    assert dispute.events.filter(kind=DisputeEvent.Kind.ESCALATED).count() == 1


def test_support_asks_and_a_partys_answer_brings_it_back_under_review():
    escrow = escrow_funded()
    dispute = dispute_opened(escrow)
    agent = support()
    services.dispute_ask_parties(dispute=dispute, actor=agent, body="Please send a photo of the finished shelves.")
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.AWAITING_RESPONSE
    services.dispute_message_post(dispute=dispute, actor=escrow.tasker, body="Attached.")
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.UNDER_REVIEW


def test_a_ruling_above_the_limit_needs_a_second_staff_member(settings):
    settings.DISPUTE_SECOND_APPROVAL_AMOUNT = Decimal("100.00")
    escrow = escrow_funded(amount="100.00")  # 105.00 held: above
    dispute = dispute_opened(escrow)
    maker, checker = support(), support()

    proposed = services.dispute_rule(dispute=dispute, actor=maker, outcome="refund", reason="Not delivered")
    escrow.refresh_from_db()
    assert proposed.status == Dispute.Status.OPEN and proposed.proposed_outcome == "refund"
    assert escrow.status == Escrow.Status.DISPUTED and _refunded_at_stripe(escrow) == 0
    assert _code(lambda: services.dispute_ruling_approve(dispute=dispute, actor=maker)) == "second_approval_required"

    done = services.dispute_ruling_approve(dispute=dispute, actor=checker)

    escrow.refresh_from_db()
    assert done.status == Dispute.Status.RESOLVED and done.ruled_by == maker and done.approved_by == checker
    assert escrow.status == Escrow.Status.REFUNDED and _refunded_at_stripe(escrow) == 10500


def test_a_thread_message_from_a_stranger_is_a_404_and_closed_disputes_take_no_messages():
    escrow = escrow_funded()
    dispute = dispute_opened(escrow)
    from accounts.tests.factories import UserFactory

    assert _code(lambda: services.dispute_message_post(dispute=dispute, actor=UserFactory(), body="hi")) == (
        "dispute_not_found"
    )
    services.dispute_withdraw(dispute=dispute, actor=escrow.client)
    assert _code(lambda: services.dispute_message_post(dispute=dispute, actor=escrow.client, body="hi")) == (
        "dispute_closed"
    )


def test_cancelling_after_the_work_started_asks_the_tasker_who_agrees_and_the_client_is_refunded():
    from marketplace import services as market

    escrow = escrow_funded(amount="100.00")
    task = market.task_cancel(task=escrow.task, actor=escrow.client, reason="Plans changed")
    market.task_cancel(task=escrow.task, actor=escrow.client, reason="Again")  # a double click asks once

    escrow.refresh_from_db()
    dispute = Dispute.objects.get()
    assert task.status == Task.Status.IN_PROGRESS and escrow.status == Escrow.Status.DISPUTED
    assert dispute.reason == "cancel_request" and dispute.settlement_tasker_amount == 0
    assert "Plans changed" in dispute.description and _refunded_at_stripe(escrow) == 0

    services.dispute_settlement_accept(dispute=dispute, actor=escrow.tasker)

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED and _refunded_at_stripe(escrow) == 10500
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.CANCELLED


def test_a_tasker_who_does_not_agree_to_the_cancellation_leaves_it_to_support():
    from marketplace import services as market

    escrow = escrow_funded(amount="100.00")
    market.task_cancel(task=escrow.task, actor=escrow.client)
    dispute = Dispute.objects.get()
    services.dispute_settlement_propose(dispute=dispute, actor=escrow.tasker, tasker_amount="40.00")
    services.dispute_escalate(dispute=dispute, actor=escrow.tasker)
    services.dispute_rule(dispute=dispute, actor=support(), outcome="split", reason="Half a day", client_refund="65.00")
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.SPLIT and _refunded_at_stripe(escrow) == 6500


def test_a_refund_ruling_stripe_answers_pending_is_resolved_when_the_refund_settles(
    monkeypatch, django_capture_on_commit_callbacks
):
    from payments.escrow import escrow_refunds_settle_for_charge

    escrow = escrow_funded(amount="100.00")
    dispute = dispute_opened(escrow)
    real = gateway.refund_create

    def answered_pending(**kwargs):
        refund = real(**kwargs)
        refund["status"] = "pending"
        return refund

    monkeypatch.setattr(gateway, "refund_create", answered_pending)
    agent = support()
    waiting = services.dispute_rule(dispute=dispute, actor=agent, outcome="refund", reason="Not delivered")
    assert waiting.status == Dispute.Status.OPEN and waiting.outcome == "refund"  # claimed, not carried out yet
    assert (
        _code(lambda: services.dispute_rule(dispute=dispute, actor=agent, outcome="release", reason="x"))
        == "dispute_already_ruled"
    )

    with django_capture_on_commit_callbacks(execute=True):
        escrow_refunds_settle_for_charge(charge_reference=escrow.payment.charge_reference, event_id="evt_1")

    dispute.refresh_from_db()
    escrow.refresh_from_db()
    assert dispute.status == Dispute.Status.RESOLVED and escrow.status == Escrow.Status.REFUNDED
    assert dispute.events.filter(kind=DisputeEvent.Kind.RULED).count() == 1


def test_the_beat_task_sends_overdue_disputes_to_supports_queue():
    from disputes.tasks import disputes_escalate_overdue

    escrow = escrow_funded()
    dispute = dispute_opened(escrow)
    Dispute.objects.filter(pk=dispute.pk).update(respond_by=timezone.now() - timedelta(minutes=1))
    assert disputes_escalate_overdue.delay().get() == 1
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.UNDER_REVIEW
