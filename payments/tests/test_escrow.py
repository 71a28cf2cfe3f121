"""Escrow services on the real PostgreSQL, with money moving through the Stripe emulator over HTTP."""

import signal
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from core.errors import ApplicationError
from marketplace import services as market
from marketplace.models import Task
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments import escrow as services
from payments.models import Escrow, EscrowEvent, FeePolicy
from payments.selectors import escrow_payment_error
from payments.services import fee_policy_publish
from payments.tests.factories import escrow_awaiting_payment, escrow_delivered, escrow_funded, escrow_pay
from processors.stripe import gateway as stripe_gateway
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import wallet_account_get_or_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulated_escrows")]


def _balance(account) -> Decimal:
    account.refresh_from_db()
    return account.balance


def _wallet(user, currency="USD") -> Decimal:
    return _balance(wallet_account_get_or_create(user=user, currency=currency))


def _revenue(currency="USD") -> Decimal:
    from wallets.selectors import account_balance
    from wallets.services import platform_account

    return account_balance(account=platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency=currency))


# --- Accept -> escrow ---------------------------------------------------------------------------


def test_accepting_an_offer_creates_the_escrow_with_the_fee_snapshot():
    escrow = escrow_awaiting_payment(amount="100.00")
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT
    assert (escrow.amount, escrow.client_fee, escrow.commission) == (
        Decimal("100.00"),
        Decimal("5.00"),
        Decimal("20.00"),
    )
    assert (escrow.client_total, escrow.tasker_net) == (Decimal("105.00"), Decimal("80.00"))
    assert escrow.task.status == Task.Status.ASSIGNED
    # A new policy version changes future escrows only.
    fee_policy_publish(currency="USD", actor=None, client_fee_percent=Decimal("10"), commission_percent=Decimal("10"))
    escrow.refresh_from_db()
    assert escrow.client_fee == Decimal("5.00")
    assert escrow_awaiting_payment(amount="100.00").client_fee == Decimal("10.00")
    assert FeePolicy.objects.filter(currency="USD").count() == 2


@pytest.mark.parametrize(("amount", "code"), [("4.99", "amount_below_minimum"), ("10000.01", "amount_above_maximum")])
def test_amounts_outside_the_limits_are_refused_when_bidding(amount, code):
    task = TaskFactory()
    from accounts.tests.factories import TaskerFactory

    with pytest.raises(ApplicationError) as exc:
        market.offer_submit(task=task, tasker=TaskerFactory(), amount=amount, currency="USD")
    assert exc.value.code == code
    assert not task.offers.exists()


def test_amount_limits_are_checked_again_at_accept(settings):
    task = TaskFactory()
    offer = OfferFactory(task=task)  # 100.00, made before the limit below
    settings.ESCROW_MAX_AMOUNT = Decimal("50.00")
    with pytest.raises(ApplicationError) as exc:
        market.offer_accept(offer=offer, actor=task.client)
    assert exc.value.code == "amount_above_maximum"
    task.refresh_from_db()
    offer.refresh_from_db()
    assert task.status == Task.Status.OPEN and offer.status == "pending"
    assert not Escrow.objects.exists()


def test_daily_limit_per_client(settings):
    settings.ESCROW_DAILY_LIMIT = Decimal("200.00")
    first = escrow_awaiting_payment(amount="100.00")  # 105.00 with the fee
    with pytest.raises(ApplicationError) as exc:
        escrow_awaiting_payment(amount="100.00", client=first.client)  # would be 210.00
    assert exc.value.code == "daily_limit_exceeded"
    assert Escrow.objects.count() == 1
    # Another client is not affected.
    assert escrow_awaiting_payment(amount="100.00").status == Escrow.Status.AWAITING_PAYMENT


# --- Funding, per test card ---------------------------------------------------------------------


def test_card_success_funds_the_escrow_and_starts_the_task(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        escrow = escrow_funded(amount="100.00")
    assert escrow.status == Escrow.Status.FUNDED
    assert escrow.task.status == Task.Status.IN_PROGRESS
    account = LedgerAccount.objects.get(kind=LedgerAccount.Kind.ESCROW, owner_id=str(escrow.pk))
    assert account.balance == Decimal("105.00")
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_FUNDING).count() == 1
    assert {m.to[0] for m in mail.outbox} == {escrow.client.email, escrow.tasker.email}


def test_funding_twice_moves_money_once():
    escrow = escrow_funded()
    again = services.escrow_fund_from_payment(payment_reference=escrow.payment.reference, event_id="evt_dup")
    assert again.status == Escrow.Status.FUNDED
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_FUNDING).count() == 1
    assert escrow.events.filter(kind=EscrowEvent.Kind.FUNDED).count() == 1


def test_decline_then_success():
    escrow = escrow_awaiting_payment()
    with pytest.raises(stripe_gateway.PaymentError) as exc:
        services.escrow_payment_confirm(
            escrow=escrow,
            actor=escrow.client,
            payment_method="pm_card_chargeDeclinedInsufficientFunds",
            return_url="http://t/",
        )
    assert exc.value.code == "card_declined"
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT
    assert "insufficient funds" in escrow_payment_error(escrow=escrow)
    assert services.escrow_fund_from_payment(payment_reference=escrow.payment.reference) is None  # not paid yet
    escrow = escrow_pay(escrow, card="pm_card_visa")
    assert escrow.status == Escrow.Status.FUNDED
    assert escrow_payment_error(escrow=escrow) == ""
    assert escrow.payment_attempts == 2


def test_a_decline_is_on_the_timeline_once_when_its_webhook_follows():
    escrow = escrow_awaiting_payment()
    with pytest.raises(stripe_gateway.PaymentError):
        services.escrow_payment_confirm(
            escrow=escrow, actor=escrow.client, payment_method="pm_card_chargeDeclined", return_url="http://t/"
        )
    escrow.refresh_from_db()
    # What the payment_intent.payment_failed task does when the webhook arrives, twice.
    for _ in range(2):
        services.escrow_payment_failure_from_payment(payment_reference=escrow.payment.reference, event_id="evt_1")
    assert escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_FAILED).count() == 1
    escrow.refresh_from_db()
    assert escrow_payment_error(escrow=escrow)


@pytest.mark.parametrize(("outcome", "funded"), [("complete", True), ("fail", False)])
def test_three_d_secure(stripe_emulator, outcome, funded):
    import requests

    escrow = escrow_awaiting_payment()
    attempt = services.escrow_payment_confirm(
        escrow=escrow, actor=escrow.client, payment_method="pm_card_authenticationRequired", return_url="http://t/"
    )
    assert attempt.status == "requires_action" and attempt.redirect_url.startswith(stripe_emulator.url)
    escrow.refresh_from_db()
    requests.post(
        f"{stripe_emulator.url}/emulator/payment_intents/{escrow.payment.reference}/authenticate",
        data={"outcome": outcome},
        timeout=5,
    )
    services.escrow_fund_from_payment(payment_reference=escrow.payment.reference)
    services.escrow_payment_failure_from_payment(payment_reference=escrow.payment.reference, event_id="evt_3ds")
    escrow.refresh_from_db()
    assert (escrow.status == Escrow.Status.FUNDED) is funded
    if not funded:
        assert escrow_payment_error(escrow=escrow)


def test_checkout_is_only_for_the_client_and_reuses_the_payment_intent():
    escrow = escrow_awaiting_payment()
    first = services.escrow_checkout_start(escrow=escrow, actor=escrow.client)
    second = services.escrow_checkout_start(escrow=escrow, actor=escrow.client)
    assert first.payment_reference == second.payment_reference and first.client_secret
    with pytest.raises(ApplicationError) as exc:
        services.escrow_checkout_start(escrow=escrow, actor=escrow.tasker)
    assert exc.value.status_code == 404


# --- Review window and release -------------------------------------------------------------------


def test_delivery_starts_the_review_window_and_changes_stop_it(settings):
    escrow = escrow_delivered()
    assert escrow.release_due_at is not None
    assert abs(escrow.release_due_at - (timezone.now() + settings.ESCROW_REVIEW_WINDOW)) < timedelta(minutes=1)
    market.task_request_changes(task=escrow.task, actor=escrow.client, reason="The left door is crooked")
    escrow.refresh_from_db()
    assert escrow.release_due_at is None
    market.task_mark_delivered(task=escrow.task, actor=escrow.tasker)
    escrow.refresh_from_db()
    assert escrow.release_due_at is not None


def test_approve_releases_net_to_tasker_and_fees_to_platform():
    escrow = escrow_delivered(amount="100.00")
    market.task_complete(task=escrow.task, actor=escrow.client)
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.RELEASED
    assert escrow.task.status == Task.Status.COMPLETED
    assert _wallet(escrow.tasker) == Decimal("80.00")
    assert _revenue() == Decimal("25.00")
    assert LedgerAccount.objects.get(kind=LedgerAccount.Kind.ESCROW, owner_id=str(escrow.pk)).balance == 0
    # Approving again is harmless.
    services.escrow_approve(escrow=escrow, actor=escrow.client)
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_RELEASE).count() == 1


def test_approving_an_unfunded_escrow_is_refused_and_moves_nothing():
    escrow = escrow_awaiting_payment()
    with pytest.raises(ApplicationError) as exc:
        services.escrow_approve(escrow=escrow, actor=escrow.client)
    assert exc.value.code == "escrow_not_funded"
    assert not JournalEntry.objects.exists()


def test_approving_before_delivery_is_refused_and_moves_nothing():
    escrow = escrow_funded()
    with pytest.raises(ApplicationError) as exc:
        services.escrow_approve(escrow=escrow, actor=escrow.client)
    assert exc.value.code == "escrow_not_delivered"
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED
    assert not JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_RELEASE).exists()


def test_only_the_client_approves():
    escrow = escrow_delivered()
    with pytest.raises(ApplicationError):
        services.escrow_approve(escrow=escrow, actor=escrow.tasker)
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED


def test_sweeper_releases_only_due_escrows():
    due = escrow_delivered()
    not_due = escrow_delivered()
    undelivered = escrow_funded()
    Escrow.objects.filter(pk=due.pk).update(release_due_at=timezone.now() - timedelta(minutes=1))
    assert services.escrows_release_due() == 1
    statuses = dict(Escrow.objects.values_list("pk", "status"))
    assert statuses[due.pk] == Escrow.Status.RELEASED
    assert statuses[not_due.pk] == statuses[undelivered.pk] == Escrow.Status.FUNDED
    assert services.escrows_release_due() == 0


def test_sweeper_stops_when_a_whole_batch_is_refused():
    stuck = escrow_delivered()
    Escrow.objects.filter(pk=stuck.pk).update(release_due_at=timezone.now() - timedelta(minutes=1))
    # A refund reserved but not yet answered by Stripe: the release is refused until it settles.
    services.escrow_refund_reserve(escrow=stuck, amount=Decimal("10.00"), actor=None, reason="Partial")

    def give_up(signum, frame):
        raise TimeoutError("the sweeper kept taking the same refused escrow")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(20)
    try:
        assert services.escrows_release_due(batch_size=1) == 0
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    stuck.refresh_from_db()
    assert stuck.status == Escrow.Status.FUNDED


# --- Refunds -------------------------------------------------------------------------------------


def test_partial_refund_then_release_pays_the_tasker_on_the_rest():
    escrow = escrow_delivered(amount="100.00")  # client total 105.00
    refund = services.escrow_refund(escrow=escrow, amount=Decimal("52.50"), actor=None, reason="Half the job")
    assert refund.status == "succeeded" and refund.processor_reference.startswith("re_")
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.refunded_amount == Decimal("52.50")
    assert stripe_gateway.charge_retrieve(escrow.payment.charge_reference).amount_refunded == 5250
    services.escrow_approve(escrow=escrow, actor=escrow.client)
    assert _wallet(escrow.tasker) == Decimal("40.00")  # half the net
    assert _revenue() == Decimal("12.50")  # half the fees


def test_full_refund_cancels_the_task():
    from disputes.models import Dispute
    from disputes.services import dispute_settlement_accept

    escrow = escrow_funded()
    market.task_cancel(task=escrow.task, actor=escrow.client, reason="Changed my mind")
    dispute_settlement_accept(dispute=Dispute.objects.get(escrow=escrow), actor=escrow.tasker)  # the tasker agrees
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED
    assert escrow.task.status == Task.Status.CANCELLED
    assert stripe_gateway.charge_retrieve(escrow.payment.charge_reference).amount_refunded == 10500
    assert LedgerAccount.objects.get(kind=LedgerAccount.Kind.ESCROW, owner_id=str(escrow.pk)).balance == 0


def test_refund_bad_input_changes_nothing():
    escrow = escrow_funded()
    for amount, code in (
        (Decimal("0"), "amount_not_positive"),
        (Decimal("-5"), "amount_not_positive"),
        (Decimal("105.01"), "refund_exceeds_held"),
        (Decimal("10.005"), "amount_precision"),  # refused, never rounded
        (Decimal("1e30"), "amount_too_large"),
    ):
        with pytest.raises(ApplicationError) as exc:
            services.escrow_refund(escrow=escrow, amount=amount, actor=None, reason="x")
        assert exc.value.code == code
    escrow.refresh_from_db()
    assert escrow.refunded_amount == 0
    assert not JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_REFUND).exists()


def test_refund_refused_by_stripe_puts_the_money_back(stripe_emulator):
    escrow = escrow_funded()
    # Refund at Stripe behind Holdfast's back, so Stripe refuses ours as too large.
    stripe_gateway.refund_create(
        payment_intent_id=escrow.payment.reference, amount=escrow.money("client_total"), key="outside-refund"
    )
    with pytest.raises(stripe_gateway.PaymentError):
        services.escrow_refund(escrow=escrow, amount=None, actor=None, reason="Client asked")
    escrow.refresh_from_db()
    assert escrow.refunded_amount == 0 and escrow.status == Escrow.Status.FUNDED
    assert escrow.refunds.get().status == "failed"
    assert LedgerAccount.objects.get(kind=LedgerAccount.Kind.ESCROW, owner_id=str(escrow.pk)).balance == Decimal(
        "105.00"
    )


# --- Cancel and expiry ---------------------------------------------------------------------------


def test_cancel_unpaid_escrow_closes_the_payment_intent():
    escrow = escrow_awaiting_payment()
    services.escrow_checkout_start(escrow=escrow, actor=escrow.client)
    market.task_cancel(task=escrow.task, actor=escrow.client)
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.CANCELLED
    assert stripe_gateway.payment_intent_retrieve(escrow.payment.reference).status == "canceled"
    assert escrow.task.status == Task.Status.CANCELLED


def test_unfunded_escrows_expire_and_the_task_reopens(settings):
    escrow = escrow_awaiting_payment()
    Escrow.objects.filter(pk=escrow.pk).update(
        created_at=timezone.now() - settings.ESCROW_PAYMENT_EXPIRY - timedelta(hours=1)
    )
    assert services.escrows_expire_unfunded() == 1
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.CANCELLED
    assert escrow.task.status == Task.Status.OPEN and escrow.task.accepted_offer is None


def test_stale_funded_escrows_are_flagged_once(settings):
    escrow = escrow_funded()
    Escrow.objects.filter(pk=escrow.pk).update(
        funded_at=timezone.now() - settings.ESCROW_STALE_AFTER - timedelta(days=1)
    )
    assert services.escrows_flag_stale() == 1
    assert services.escrows_flag_stale() == 0
    escrow.refresh_from_db()
    assert escrow.stale_flagged_at is not None
