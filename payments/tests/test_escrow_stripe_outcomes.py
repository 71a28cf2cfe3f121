"""Every payment ends up funding its escrow or back with the client, and every refund ends up as
Stripe says, whatever Stripe answers: no answer, "pending", a second payment, a wrong amount,
a payment after the escrow was cancelled. Real PostgreSQL, the Stripe emulator over HTTP.

Where Stripe's answer is lost on the way back, the gateway function is wrapped so that Stripe
really does the work and the answer then goes missing; the SDK itself is never replaced."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone
from moneyed import Money

from core.errors import ApplicationError
from marketplace.models import Task
from payments import escrow as services
from payments.models import Escrow, EscrowEvent, EscrowRefund
from payments.selectors import escrow_payment_error
from payments.tests.factories import escrow_awaiting_payment, escrow_delivered, escrow_funded, escrow_pay
from processors.selectors import transactions_for
from processors.services import transaction_record
from processors.stripe import gateway as stripe_gateway
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import wallet_account_get_or_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulated_escrows")]


def _held(escrow) -> Decimal:
    return LedgerAccount.objects.get(kind=LedgerAccount.Kind.ESCROW, owner_id=str(escrow.pk)).balance


def _refunded_at_stripe(escrow) -> int:
    return stripe_gateway.charge_retrieve(escrow.payment.charge_reference).amount_refunded


def _answer_lost(monkeypatch, *, after_stripe_acts: bool):
    """Stripe does not answer a refund request; with ``after_stripe_acts`` it made the refund first."""
    real = stripe_gateway.refund_create

    def no_answer(**kwargs):
        if after_stripe_acts:
            real(**kwargs)
        raise stripe_gateway.PaymentProviderUnavailable()

    monkeypatch.setattr(stripe_gateway, "refund_create", no_answer)
    return real


def _answered_pending(monkeypatch):
    """Stripe makes the refund but answers "pending", as it does for refunds that settle later."""
    real = stripe_gateway.refund_create

    def answered_pending(**kwargs):
        stripe_refund = real(**kwargs)
        stripe_refund["status"] = "pending"
        return stripe_refund

    monkeypatch.setattr(stripe_gateway, "refund_create", answered_pending)
    return real


# --- Refunds without an answer -------------------------------------------------------------------


@pytest.mark.parametrize("after_stripe_acts", [True, False], ids=["made-then-lost", "never-arrived"])
def test_a_refund_stripe_did_not_answer_holds_the_money_until_settled(monkeypatch, after_stripe_acts):
    escrow = escrow_delivered(amount="100.00")  # client total 105.00
    real = _answer_lost(monkeypatch, after_stripe_acts=after_stripe_acts)

    with pytest.raises(ApplicationError) as exc:
        services.escrow_refund(escrow=escrow, amount=None, actor=None, reason="Client complaint")
    assert exc.value.code == "refund_pending"
    refund = escrow.refunds.get()
    assert refund.status == EscrowRefund.Status.PENDING
    # Whatever Stripe did, the money is out of reach of a release meanwhile.
    with pytest.raises(ApplicationError) as exc:
        services.escrow_approve(escrow=escrow, actor=escrow.client)
    assert exc.value.code == "refund_in_progress"

    monkeypatch.setattr(stripe_gateway, "refund_create", real)
    assert services.escrow_refunds_settle(older_than=timedelta(0)) == 1

    escrow.refresh_from_db()
    refund.refresh_from_db()
    assert refund.status == EscrowRefund.Status.SUCCEEDED
    assert escrow.status == Escrow.Status.REFUNDED and escrow.task.status == Task.Status.CANCELLED
    assert _refunded_at_stripe(escrow) == 10500  # once, not twice
    assert _held(escrow) == 0
    assert wallet_account_get_or_create(user=escrow.tasker, currency="USD").balance == 0


def test_a_refund_stripe_reports_pending_is_settled_by_its_webhook(monkeypatch):
    escrow = escrow_funded(amount="100.00")
    _answered_pending(monkeypatch)
    refund = services.escrow_refund(escrow=escrow, amount=Decimal("40.00"), actor=None, reason="Partly done")

    assert refund.status == EscrowRefund.Status.PENDING and refund.processor_reference
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED
    assert not escrow.events.filter(kind=EscrowEvent.Kind.PARTIALLY_REFUNDED).exists()

    # charge.refunded / charge.refund.updated: the task re-reads the refunds from Stripe.
    assert (
        services.escrow_refunds_settle_for_charge(charge_reference=escrow.payment.charge_reference, event_id="evt_1")
        == 1
    )
    assert (
        services.escrow_refunds_settle_for_charge(charge_reference=escrow.payment.charge_reference, event_id="evt_1")
        == 0
    )
    refund.refresh_from_db()
    assert refund.status == EscrowRefund.Status.SUCCEEDED
    assert escrow.events.filter(kind=EscrowEvent.Kind.PARTIALLY_REFUNDED).count() == 1


def test_a_client_cancelling_while_stripe_has_the_refund_pending_gets_no_error(
    monkeypatch, django_capture_on_commit_callbacks
):
    from disputes.models import Dispute
    from disputes.services import dispute_settlement_accept
    from marketplace import services as market

    escrow = escrow_funded(amount="100.00")
    _answered_pending(monkeypatch)
    task = market.task_cancel(task=escrow.task, actor=escrow.client, reason="Plans changed")
    dispute_settlement_accept(dispute=Dispute.objects.get(escrow=escrow), actor=escrow.tasker)  # the tasker agrees
    task.refresh_from_db()
    assert task.status == Task.Status.IN_PROGRESS  # until Stripe confirms

    with django_capture_on_commit_callbacks(execute=True):
        services.escrow_refunds_settle_for_charge(charge_reference=escrow.payment.charge_reference, event_id="evt_1")
    task.refresh_from_db()
    escrow.refresh_from_db()
    assert task.status == Task.Status.CANCELLED and escrow.status == Escrow.Status.REFUNDED


def test_one_refund_at_a_time_and_a_failed_one_is_never_completed_later():
    escrow = escrow_funded(amount="100.00")
    first = services.escrow_refund_reserve(escrow=escrow, amount=Decimal("50.00"), actor=None, reason="First")

    with pytest.raises(ApplicationError) as exc:
        services.escrow_refund_reserve(escrow=escrow, amount=Decimal("55.00"), actor=None, reason="Second")
    assert exc.value.code == "refund_in_progress"

    services.escrow_refund_fail(refund=first, message="The card account is closed.")
    services.escrow_refund_complete(refund=first, processor_reference="re_late")  # a confused late report
    first.refresh_from_db()
    escrow.refresh_from_db()
    assert first.status == EscrowRefund.Status.FAILED
    assert escrow.refunded_amount == 0 and _held(escrow) == Decimal("105.00")
    # The money is back and can go either way.
    services.escrow_refund(escrow=escrow, amount=None, actor=None, reason="Second try")
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED and _refunded_at_stripe(escrow) == 10500


# --- Payments that cannot fund the escrow --------------------------------------------------------


def test_checkout_keeps_one_payment_intent_after_stripe_forgets_its_key(stripe_emulator):
    escrow = escrow_awaiting_payment()
    first = services.escrow_checkout_start(escrow=escrow, actor=escrow.client)
    stripe_emulator.store.data["idempotency"].clear()  # Stripe keeps keys for 24 hours only

    again = services.escrow_checkout_start(escrow=escrow, actor=escrow.client)

    assert again.payment_reference == first.payment_reference
    assert again.client_secret == first.client_secret


def test_a_cancelled_payment_intent_is_replaced_and_the_escrow_follows():
    escrow = escrow_awaiting_payment()
    first = services.escrow_checkout_start(escrow=escrow, actor=escrow.client)
    stripe_gateway.payment_intent_cancel(first.payment_reference, key="cancelled-at-stripe")

    again = services.escrow_checkout_start(escrow=escrow, actor=escrow.client)

    assert again.payment_reference != first.payment_reference
    escrow.refresh_from_db()
    assert escrow.payment.reference == again.payment_reference
    funded = escrow_pay(escrow)
    assert funded.status == Escrow.Status.FUNDED


def _pay_separately(escrow, amount: str, *, namespace: str | None = None) -> str:
    """A payment for this escrow made outside its checkout (an old tab, a second device), or with
    ``namespace``, by another installation sharing the Stripe account."""
    pi = stripe_gateway.payment_intent_create(
        amount=Money(Decimal(amount), escrow.currency),
        key=f"elsewhere-{escrow.pk}-{amount}-{namespace}",
        transfer_group=f"escrow-{escrow.pk}",
        metadata={"escrow_id": str(escrow.pk), "holdfast_namespace": namespace or settings.STRIPE_NAMESPACE},
        payment_method="pm_card_visa",
        confirm=True,
        return_url="http://testserver/",
    )
    assert pi.status == "succeeded"
    return pi.id


def test_a_second_payment_for_a_paid_escrow_is_returned_once():
    escrow = escrow_funded(amount="100.00")
    second = _pay_separately(escrow, "105.00")

    for event in ("evt_1", "evt_1", "evt_2"):
        services.escrow_fund_from_payment(payment_reference=second, event_id=event)

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and _held(escrow) == Decimal("105.00")
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_FUNDING).count() == 1
    second_charge = stripe_gateway.payment_intent_retrieve(second).latest_charge
    assert stripe_gateway.charge_retrieve(second_charge).amount_refunded == 10500
    assert _refunded_at_stripe(escrow) == 0  # the payment that funds the escrow stays
    assert escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_RETURNED).count() == 1


def test_a_payment_of_the_wrong_amount_is_returned_and_funds_nothing():
    escrow = escrow_awaiting_payment(amount="100.00")
    odd = _pay_separately(escrow, "50.00")

    services.escrow_fund_from_payment(payment_reference=odd, event_id="evt_1")
    services.escrow_fund_from_payment(payment_reference=odd, event_id="evt_2")

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT and escrow.funded_at is None
    assert not JournalEntry.objects.exists()
    charge = stripe_gateway.payment_intent_retrieve(odd).latest_charge
    assert stripe_gateway.charge_retrieve(charge).amount_refunded == 5000
    assert escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_RETURNED).count() == 1


def test_another_installations_payment_on_the_same_stripe_account_is_not_ours():
    escrow = escrow_awaiting_payment(amount="100.00")  # its twin, escrow #same, lives on staging
    theirs = _pay_separately(escrow, "105.00", namespace="holdfast-staging")

    assert services.escrow_fund_from_payment(payment_reference=theirs, event_id="evt_1") is None

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT and not JournalEntry.objects.exists()
    charge = stripe_gateway.payment_intent_retrieve(theirs).latest_charge
    assert stripe_gateway.charge_retrieve(charge).amount_refunded == 0  # theirs to keep or return
    assert not escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_RETURNED).exists()


def test_a_payment_whose_webhook_never_came_is_found_and_funds_the_escrow():
    escrow = escrow_awaiting_payment()
    waiting = escrow_awaiting_payment()  # checkout opened, never paid
    paid = services.escrow_checkout_start(escrow=escrow, actor=escrow.client)
    services.escrow_checkout_start(escrow=waiting, actor=waiting.client)
    stripe_gateway.payment_intent_confirm(paid.payment_reference, payment_method="pm_card_visa", key="browser")

    assert services.escrows_payment_reconcile(quiet_for=timedelta(0)) == 1
    assert services.escrows_payment_reconcile(quiet_for=timedelta(0)) == 0

    escrow.refresh_from_db()
    waiting.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.task.status == Task.Status.IN_PROGRESS
    assert waiting.status == Escrow.Status.AWAITING_PAYMENT
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_FUNDING).count() == 1


# --- Payments after a cancel, and the expiry sweeper ---------------------------------------------


def _paid_after_cancel():
    escrow = escrow_awaiting_payment(amount="100.00")
    checkout = services.escrow_checkout_start(escrow=escrow, actor=escrow.client)
    stripe_gateway.payment_intent_confirm(checkout.payment_reference, payment_method="pm_card_visa", key="paid-late")
    Escrow.objects.filter(pk=escrow.pk).update(status=Escrow.Status.CANCELLED, cancelled_at=timezone.now())
    return escrow, checkout.payment_reference


def test_a_late_payment_is_refunded_even_when_the_first_attempt_gets_no_answer(monkeypatch):
    escrow, pi = _paid_after_cancel()
    real = _answer_lost(monkeypatch, after_stripe_acts=False)
    with pytest.raises(ApplicationError):
        services.escrow_fund_from_payment(payment_reference=pi, event_id="evt_1")
    monkeypatch.setattr(stripe_gateway, "refund_create", real)

    services.escrow_fund_from_payment(payment_reference=pi, event_id="evt_1")  # the task's retry
    services.escrow_refunds_settle(older_than=timedelta(0))

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.CANCELLED
    assert list(escrow.refunds.values_list("status", flat=True)) == [EscrowRefund.Status.SUCCEEDED]
    assert _refunded_at_stripe(escrow) == 10500 and _held(escrow) == 0


def test_finance_can_refund_a_late_payment_stripe_refused_to_refund(monkeypatch):
    escrow, pi = _paid_after_cancel()
    real = stripe_gateway.refund_create

    def refused(**kwargs):
        raise stripe_gateway.PaymentError("The charge is disputed.", code="stripe_charge_disputed")

    monkeypatch.setattr(stripe_gateway, "refund_create", refused)
    with pytest.raises(ApplicationError):
        services.escrow_fund_from_payment(payment_reference=pi, event_id="evt_1")
    monkeypatch.setattr(stripe_gateway, "refund_create", real)
    escrow.refresh_from_db()
    assert escrow.refunds.get().status == EscrowRefund.Status.FAILED and _held(escrow) == Decimal("105.00")

    services.escrow_refund(escrow=escrow, amount=None, actor=None, reason="Returned by Finance")

    escrow.refresh_from_db()
    assert _refunded_at_stripe(escrow) == 10500 and _held(escrow) == 0
    assert escrow.status == Escrow.Status.CANCELLED


def test_the_expiry_sweeper_leaves_an_escrow_paid_while_it_ran(settings, monkeypatch):
    escrow = escrow_awaiting_payment()
    Escrow.objects.filter(pk=escrow.pk).update(
        created_at=timezone.now() - settings.ESCROW_PAYMENT_EXPIRY - timedelta(minutes=1)
    )
    from payments.escrow import cancel as cancelling

    cancel = cancelling.escrow_cancel

    def paid_just_before(**kwargs):
        escrow_pay(Escrow.objects.get(pk=kwargs["escrow"].pk))  # the webhook task won the race
        return cancel(**kwargs)

    monkeypatch.setattr(cancelling, "escrow_cancel", paid_just_before)
    assert services.escrows_expire_unfunded() == 0

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and not escrow.refunds.exists()
    assert escrow.task.status == Task.Status.IN_PROGRESS


# --- Confirming ----------------------------------------------------------------------------------


def test_a_form_sent_twice_or_an_unknown_card_records_no_decline(api_client):
    escrow = escrow_awaiting_payment()
    api_client.force_authenticate(escrow.client)
    url = f"/api/v1/escrows/{escrow.pk}/confirm/"

    refused = api_client.post(url, {"payment_method": "pm_nonsense"}, format="json")
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "stripe_resource_missing"
    assert api_client.post(url, {"payment_method": "pm_card_visa"}, format="json").json()["status"] == "succeeded"
    assert api_client.post(url, {"payment_method": "pm_card_visa"}, format="json").json()["status"] == "succeeded"

    escrow.refresh_from_db()
    assert escrow_payment_error(escrow=escrow) == ""
    assert not escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_FAILED).exists()


def test_each_decline_reported_only_by_webhooks_is_shown_in_turn():
    """With real keys the Payment Element confirms in the browser: only webhooks tell Holdfast."""
    escrow = escrow_awaiting_payment()
    checkout = services.escrow_checkout_start(escrow=escrow, actor=escrow.client)
    shown = []
    for attempt, card in enumerate(("pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds")):
        with pytest.raises(stripe_gateway.PaymentError):
            stripe_gateway.payment_intent_confirm(
                checkout.payment_reference, payment_method=card, key=f"browser-{attempt}"
            )
        for event in (f"evt_{attempt}", f"evt_{attempt}"):  # delivered twice
            services.escrow_payment_failure_from_payment(payment_reference=checkout.payment_reference, event_id=event)
        escrow.refresh_from_db()
        shown.append(transactions_for(subject=escrow, kinds=["payment_failed"]).last().failure_code)

    assert shown == ["generic_decline", "insufficient_funds"]
    assert escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_FAILED).count() == 2


# --- Refunds made outside Holdfast ---------------------------------------------------------------


def _refund_in_the_dashboard(escrow, amount: str):
    return stripe_gateway.refund_create(
        payment_intent_id=escrow.payment.reference,
        amount=Money(Decimal(amount), escrow.currency),
        key=f"dashboard-{escrow.pk}-{amount}",
    )


def test_a_refund_made_in_the_stripe_dashboard_is_taken_in_before_any_release():
    escrow = escrow_delivered(amount="100.00")  # client total 105.00
    _refund_in_the_dashboard(escrow, "21.00")

    for event in ("evt_1", "evt_1"):
        services.escrow_refunds_settle_for_charge(charge_reference=escrow.payment.charge_reference, event_id=event)

    escrow.refresh_from_db()
    assert escrow.refunded_amount == Decimal("21.00") and _held(escrow) == Decimal("84.00")
    assert escrow.refunds.get().status == EscrowRefund.Status.SUCCEEDED
    services.escrow_approve(escrow=escrow, actor=escrow.client)
    escrow.refresh_from_db()
    # The tasker is paid on what is left (release_split), not on money that went back.
    assert escrow.released_to_tasker == Decimal("64.00")
    assert wallet_account_get_or_create(user=escrow.tasker, currency="USD").balance == Decimal("64.00")


def test_a_dashboard_refund_after_the_release_is_flagged_not_booked():
    escrow = escrow_delivered(amount="100.00")
    services.escrow_approve(escrow=escrow, actor=escrow.client)
    _refund_in_the_dashboard(escrow, "105.00")

    assert (
        services.escrow_refunds_settle_for_charge(charge_reference=escrow.payment.charge_reference, event_id="evt_1")
        == 0
    )
    services.escrow_refunds_settle_for_charge(charge_reference=escrow.payment.charge_reference, event_id="evt_2")

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.RELEASED and not escrow.refunds.exists()
    flagged = escrow.events.get(kind=EscrowEvent.Kind.NEEDS_ATTENTION)
    assert "Refunded at Stripe outside Holdfast" in flagged.reason and flagged.amount == Decimal("105.00")


def test_a_dashboard_refund_made_while_ours_went_unanswered_is_taken_in_once_ours_fails(monkeypatch):
    escrow = escrow_delivered(amount="100.00")  # client total 105.00
    real = _answer_lost(monkeypatch, after_stripe_acts=False)
    with pytest.raises(ApplicationError):
        services.escrow_refund(escrow=escrow, amount=None, actor=None, reason="Full refund")
    monkeypatch.setattr(stripe_gateway, "refund_create", real)
    _refund_in_the_dashboard(escrow, "30.00")
    services.escrow_refunds_settle_for_charge(charge_reference=escrow.payment.charge_reference, event_id="evt_1")

    # Asked again, Stripe refuses the full 105.00 (only 75.00 is left); the 30.00 is then taken in.
    services.escrow_refunds_settle(older_than=timedelta(0))

    escrow.refresh_from_db()
    assert sorted(escrow.refunds.values_list("status", "amount")) == [
        (EscrowRefund.Status.FAILED, Decimal("105.00")),
        (EscrowRefund.Status.SUCCEEDED, Decimal("30.00")),
    ]
    assert escrow.refunded_amount == Decimal("30.00") and _refunded_at_stripe(escrow) == 3000
    assert _held(escrow) == Decimal("75.00")
    services.escrow_approve(escrow=escrow, actor=escrow.client)
    escrow.refresh_from_db()
    assert escrow.released_to_tasker < Decimal("80.00")  # paid on what is left, not on the 30.00


def test_our_pending_refund_is_settled_before_a_dashboard_refund_listed_ahead_of_it(monkeypatch):
    escrow = escrow_delivered(amount="100.00")
    real = _answered_pending(monkeypatch)
    services.escrow_refund(escrow=escrow, amount=Decimal("20.00"), actor=None, reason="Part")
    monkeypatch.setattr(stripe_gateway, "refund_create", real)
    _refund_in_the_dashboard(escrow, "30.00")  # Stripe lists it first: the newest

    assert (
        services.escrow_refunds_settle_for_charge(charge_reference=escrow.payment.charge_reference, event_id="evt_1")
        == 2
    )

    escrow.refresh_from_db()
    assert escrow.refunded_amount == Decimal("50.00") and _refunded_at_stripe(escrow) == 5000
    assert not escrow.events.filter(kind=EscrowEvent.Kind.NEEDS_ATTENTION).exists()


def test_an_adoption_cut_short_leaves_nothing_half_done(monkeypatch):
    escrow = escrow_funded(amount="100.00")
    _refund_in_the_dashboard(escrow, "30.00")
    from payments.escrow import refunds

    complete = refunds.escrow_refund_complete

    def worker_killed(**kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(refunds, "escrow_refund_complete", worker_killed)
    with pytest.raises(RuntimeError):
        services.escrow_refunds_settle_for_charge(charge_reference=escrow.payment.charge_reference, event_id="evt_1")
    assert not escrow.refunds.exists()  # no pending row the settle job could ask Stripe for again
    monkeypatch.setattr(refunds, "escrow_refund_complete", complete)

    services.escrow_refunds_settle_for_charge(
        charge_reference=escrow.payment.charge_reference, event_id="evt_1"
    )  # redelivered
    services.escrow_refunds_settle(older_than=timedelta(0))

    escrow.refresh_from_db()
    assert escrow.refunded_amount == Decimal("30.00") and _refunded_at_stripe(escrow) == 3000


def test_another_installations_refund_does_not_settle_ours():
    escrow = escrow_funded(amount="100.00")
    ours = services.escrow_refund_reserve(escrow=escrow, amount=Decimal("40.00"), actor=None, reason="Part")
    theirs = _pay_separately(escrow_awaiting_payment(), "10.00", namespace="holdfast-staging")
    stripe_gateway.refund_create(
        payment_intent_id=theirs,
        amount=Money(Decimal("10.00"), "USD"),
        key="staging-refund",
        metadata={"escrow_refund_id": str(ours.pk)},  # their refund row has our row's number
    )
    their_charge = stripe_gateway.payment_intent_retrieve(theirs).latest_charge

    services.escrow_refunds_settle_for_charge(charge_reference=their_charge, event_id="evt_staging")

    ours.refresh_from_db()
    assert ours.status == EscrowRefund.Status.PENDING
    services.escrow_refund_execute(ours)  # so the ledger check at the end sees it through
    assert _refunded_at_stripe(escrow) == 4000


def test_an_untagged_payment_intent_the_escrow_names_is_still_ours():
    """PaymentIntents made before they carried STRIPE_NAMESPACE: the escrow's own one funds it."""
    escrow = escrow_awaiting_payment(amount="100.00")
    pi = stripe_gateway.payment_intent_create(
        amount=escrow.money("client_total"),
        key=f"untagged-{escrow.pk}",
        transfer_group=f"escrow-{escrow.pk}",
        metadata={"escrow_id": str(escrow.pk), "task_id": str(escrow.task_id)},
    )
    row, _ = transaction_record(
        subject=escrow, processor="stripe", kind="payment_started", reference=pi.id, idempotency_key=f"old:{pi.id}"
    )
    Escrow.objects.filter(pk=escrow.pk).update(payment=row)
    services.escrow_payment_confirm(
        escrow=escrow, actor=escrow.client, payment_method="pm_card_visa", return_url="http://testserver/"
    )

    funded = services.escrow_fund_from_payment(payment_reference=pi.id, event_id="evt_1")

    assert funded.status == Escrow.Status.FUNDED and _held(funded) == Decimal("105.00")
