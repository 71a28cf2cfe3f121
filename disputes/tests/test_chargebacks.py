"""Chargebacks (card disputes from the bank), end to end with the emulator: the dispute test card
opens one at the emulator, its events are routed through the processor interface to the disputes
app, which reads the chargeback back and books it. Won and lost, on a funded and on a released
escrow; duplicated and reordered events change nothing twice; Finance answers from the admin's
services with text and files (uploaded to the Files API) or accepts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.errors import ApplicationError
from disputes import services
from disputes.models import Chargeback, Dispute
from disputes.tests.factories import PDF, dispute_opened, finance, support
from marketplace import services as market
from marketplace.models import Task
from payments.escrow import escrow_approve
from payments.models import Escrow, EscrowEvent
from payments.tests.factories import escrow_awaiting_payment, escrow_pay
from processors.interface import EventKind, ProcessorEvent
from processors.registry import event_dispatch
from processors.stripe import adapter, gateway
from wallets.models import LedgerAccount, Posting
from wallets.services import wallet_account_get_or_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulated")]

ALL_KINDS = list(EventKind.CHARGEBACK_KINDS)


def _disputed_payment(amount="100.00") -> Escrow:
    """An escrow paid with the emulator's dispute test card: Stripe opens a chargeback at once."""
    return escrow_pay(escrow_awaiting_payment(amount=amount), card="pm_card_createDispute")


def _reference(escrow) -> str:
    return gateway.dispute_for_charge(escrow.payment.charge_reference).id


def _deliver(escrow, *kinds, event="evt_test"):
    reference = _reference(escrow)
    for i, kind in enumerate(kinds or ALL_KINDS):
        event_dispatch(ProcessorEvent(processor="stripe", event_id=f"{event}_{i}", kind=kind, reference=reference))
    return Chargeback.objects.get(reference=reference)


def _platform(kind, currency="USD") -> Decimal:
    total = sum(Posting.objects.filter(account__kind=kind, account__currency=currency).values_list("amount", flat=True))
    return Decimal(total or 0)


def _held(escrow) -> Decimal:
    return LedgerAccount.objects.get(kind=LedgerAccount.Kind.ESCROW, owner_id=str(escrow.pk)).balance


def _wallet(escrow) -> Decimal:
    return wallet_account_get_or_create(user=escrow.tasker, currency=escrow.currency).balance


def _code(call) -> str:
    with pytest.raises(ApplicationError) as exc:
        call()
    return exc.value.code


def test_stripe_dispute_events_map_to_neutral_chargeback_kinds():
    for stripe_type in [
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    ]:
        event = adapter.event_from_stripe(event_id="evt_1", event_type=stripe_type, obj={"id": "dp_1"})
        assert event.kind in EventKind.CHARGEBACK_KINDS and event.reference == "dp_1"


def test_a_chargeback_on_a_funded_escrow_freezes_it_and_books_the_withdrawal_once():
    escrow = _disputed_payment()  # client total 105.00; Stripe takes 105.00 + 15.00 fee
    cb = _deliver(escrow)
    _deliver(escrow, *reversed(ALL_KINDS), event="evt_again")  # duplicated, reordered

    escrow.refresh_from_db()
    assert cb.escrow == escrow and cb.status == "needs_response" and cb.amount == Decimal("105.00")
    assert cb.fee == Decimal("15.00") and cb.evidence_due_by is not None
    assert escrow.status == Escrow.Status.DISPUTED and _held(escrow) == Decimal("105.00")
    assert _platform(LedgerAccount.Kind.CHARGEBACK_LOSSES) == Decimal("-120.00")
    assert Chargeback.objects.count() == 1
    assert escrow.events.filter(kind=EscrowEvent.Kind.CHARGEBACK).exists()
    # While the bank decides, no ruling moves the money.
    dispute = dispute_opened(escrow)
    assert (
        _code(lambda: services.dispute_rule(dispute=dispute, actor=support(), outcome="release", reason="x"))
        == "chargeback_open"
    )


def test_won_with_evidence_text_and_a_file_the_money_comes_back_and_the_escrow_continues():
    escrow = _disputed_payment()
    market.task_mark_delivered(task=escrow.task, actor=escrow.tasker)
    cb = _deliver(escrow)
    proof = SimpleUploadedFile("work.pdf", PDF, content_type="application/pdf")

    cb = services.chargeback_evidence_submit(
        chargeback=cb,
        actor=finance(),
        text={"uncategorized_text": "winning_evidence", "product_description": "Shelves mounted"},
        files={"service_documentation": proof},
    )

    escrow.refresh_from_db()
    at_stripe = gateway.dispute_retrieve(cb.reference)
    assert at_stripe.evidence["service_documentation"].startswith("file_")
    assert cb.status == "won" and cb.closed_at and cb.funds_reinstated_at
    assert escrow.status == Escrow.Status.FUNDED and escrow.release_due_at is not None  # review window again
    assert _platform(LedgerAccount.Kind.CHARGEBACK_LOSSES) == Decimal("-15.00")  # the fee stays lost
    escrow_approve(escrow=escrow, actor=escrow.client)
    assert _wallet(escrow) == Decimal("80.00")


def test_lost_the_escrow_ends_refunded_by_the_bank_and_an_open_dispute_closes():
    escrow = _disputed_payment()
    dispute = dispute_opened(escrow, by=escrow.tasker, reason="other")
    cb = _deliver(escrow)

    cb = services.chargeback_accept(chargeback=cb, actor=finance())
    _deliver(escrow, event="evt_late")

    escrow.refresh_from_db()
    dispute.refresh_from_db()
    assert cb.status == "lost" and escrow.status == Escrow.Status.REFUNDED and _held(escrow) == 0
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.CANCELLED
    assert dispute.status == Dispute.Status.RESOLVED and dispute.outcome == "refund"
    assert _platform(LedgerAccount.Kind.CHARGEBACK_LOSSES) == Decimal("-15.00")
    assert _wallet(escrow) == 0


@pytest.mark.parametrize(("evidence", "won"), [("winning_evidence", True), ("losing_evidence", False)])
def test_on_a_released_escrow_the_tasker_wallet_is_reserved_until_the_bank_decides(evidence, won):
    escrow = _disputed_payment()  # the bank's dispute is only seen after the release
    market.task_mark_delivered(task=escrow.task, actor=escrow.tasker)
    escrow_approve(escrow=escrow, actor=escrow.client)
    assert _wallet(escrow) == Decimal("80.00")

    cb = _deliver(escrow)
    assert cb.reserved_from_wallet == Decimal("80.00") and _wallet(escrow) == 0
    services.chargeback_evidence_submit(chargeback=cb, actor=finance(), text={"uncategorized_text": evidence})

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.RELEASED
    assert _wallet(escrow) == (Decimal("80.00") if won else 0)
    assert _platform(LedgerAccount.Kind.CHARGEBACK_LOSSES) == (Decimal("-15.00") if won else Decimal("-40.00"))


def test_with_the_platform_policy_a_released_escrows_chargeback_is_the_platforms_loss(settings):
    settings.CHARGEBACK_RELEASED_POLICY = "platform"
    escrow = _disputed_payment()
    market.task_mark_delivered(task=escrow.task, actor=escrow.tasker)
    escrow_approve(escrow=escrow, actor=escrow.client)
    cb = _deliver(escrow)
    assert cb.reserved_from_wallet == 0 and _wallet(escrow) == Decimal("80.00")


def test_finance_only_before_the_deadline_with_valid_evidence():
    escrow = _disputed_payment()
    cb = _deliver(escrow)
    agent = finance()
    assert _code(lambda: services.chargeback_accept(chargeback=cb, actor=support())) == "chargeback_not_allowed"
    assert (
        _code(lambda: services.chargeback_evidence_submit(chargeback=cb, actor=agent, text={"shipping_carrier": "x"}))
        == "evidence_field_invalid"
    )
    assert (
        _code(lambda: services.chargeback_evidence_submit(chargeback=cb, actor=agent, text={})) == "evidence_required"
    )
    bad = SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf")
    bad._name = "../../x.pdf"  # Django's upload handling strips folders; the service refuses them anyway
    assert (
        _code(lambda: services.chargeback_evidence_submit(chargeback=cb, actor=agent, text={}, files={"receipt": bad}))
        == "file_name_invalid"
    )
    Chargeback.objects.filter(pk=cb.pk).update(evidence_due_by=timezone.now() - timedelta(minutes=1))
    cb.refresh_from_db()
    assert (
        _code(lambda: services.chargeback_evidence_submit(chargeback=cb, actor=agent, text={"uncategorized_text": "x"}))
        == "evidence_past_due"
    )
    assert gateway.dispute_retrieve(cb.reference).evidence_details.submission_count == 0


def test_a_chargeback_arriving_before_the_payments_own_webhook_funds_then_freezes_the_escrow():
    from payments.escrow import escrow_fund_from_payment, escrow_payment_confirm

    escrow = escrow_awaiting_payment(amount="100.00")
    escrow_payment_confirm(
        escrow=escrow, actor=escrow.client, payment_method="pm_card_createDispute", return_url="http://t/"
    )
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT  # payment_intent.succeeded not handled yet

    cb = _deliver(escrow)
    escrow_fund_from_payment(payment_reference=escrow.payment.reference)  # the late webhook: nothing more

    escrow.refresh_from_db()
    assert cb.escrow == escrow and escrow.status == Escrow.Status.DISPUTED and _held(escrow) == Decimal("105.00")
    assert _platform(LedgerAccount.Kind.CHARGEBACK_LOSSES) == Decimal("-120.00")


@pytest.mark.parametrize("evidence", ["winning_evidence", "losing_evidence"])
def test_after_a_chargeback_the_daily_reconciliation_agrees_with_stripe(evidence):
    """The ledger books Stripe's dispute fee with the chargeback (chargeback losses), so the
    reconciliation must not take it off the platform's balance a second time as a processing fee."""
    from payouts.models import ReconciliationDifference
    from payouts.services import payouts_reconcile

    escrow = _disputed_payment()
    cb = _deliver(escrow)
    run = payouts_reconcile()
    assert run.differences == 0, list(
        ReconciliationDifference.objects.filter(run=run).values_list("message", flat=True)
    )

    services.chargeback_evidence_submit(chargeback=cb, actor=finance(), text={"uncategorized_text": evidence})
    run = payouts_reconcile()
    assert run.differences == 0, list(
        ReconciliationDifference.objects.filter(run=run).values_list("message", flat=True)
    )


def test_a_chargeback_whose_webhooks_never_came_is_found_booked_once_and_closed_by_the_reconcile_job():
    escrow = _disputed_payment()  # Stripe opens the chargeback; none of its events reaches Holdfast
    assert not Chargeback.objects.exists()

    assert services.chargebacks_reconcile() == 1
    assert services.chargebacks_reconcile() == 0  # known and in line: nothing twice
    cb = Chargeback.objects.get()
    escrow.refresh_from_db()
    assert cb.escrow == escrow and cb.status == "needs_response" and cb.funds_withdrawn_at is not None
    assert escrow.status == Escrow.Status.DISPUTED
    assert _platform(LedgerAccount.Kind.CHARGEBACK_LOSSES) == Decimal("-120.00")

    # The bank decides (evidence given in Stripe's dashboard); its events are lost as well.
    gateway.dispute_submit_evidence(
        dispute_id=cb.reference, evidence={"uncategorized_text": "winning_evidence"}, key="k1"
    )
    assert services.chargebacks_reconcile() == 1
    assert services.chargebacks_reconcile() == 0
    cb.refresh_from_db()
    escrow.refresh_from_db()
    assert cb.status == "won" and cb.funds_reinstated_at is not None and cb.closed_at is not None
    assert escrow.status == Escrow.Status.FUNDED and _held(escrow) == Decimal("105.00")
    assert _platform(LedgerAccount.Kind.CHARGEBACK_LOSSES) == Decimal("-15.00")  # the fee is lost
