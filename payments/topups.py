"""Wallet top-ups by card, and withdrawing what is left back to that card.

A top-up is funded exactly like an escrow (DESIGN §3): a payment on the platform account, and only
the processor's word that it succeeded (its webhook, or ``top_ups_payment_reconcile`` asking) moves
the money in the ledger, from the processor balance into the client's wallet, with the key
``wallet-top-up:<id>:funding``. A decline is recorded once per failed charge; a payment for
another amount, or a second payment for a top-up already funded, is returned in full at the
processor; a success that arrives late (after the client left, days later) still funds it.

A withdrawal gives unused top-up money back to the card the top-up was paid with, as a refund of
that very payment (never to another card). It is taken out of the wallet in the ledger first, so
nothing can spend it while the processor is asked, and put back, visibly, if the processor refuses.
The wallet's balance can never go below zero (the database refuses it): a withdrawal racing an
escrow paid from the same wallet leaves one of them refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from moneyed import Money

from accounts.models import User
from core import events
from core.errors import ApplicationError, Conflict, NotFound, ValidationError
from core.money import format_money, parse_amount, validate_currency
from payments.cards import card_prepare_for_payment
from payments.events import WalletToppedUp, WalletWithdrawn
from payments.models import WalletTopUp, WalletWithdrawal
from processors import registry
from processors.interface import (
    Payment,
    PaymentError,
    PaymentProcessor,
    PaymentProviderUnavailable,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from processors.keys import idempotency_key
from processors.models import ProcessorTransaction
from processors.services import customer_reference_for, transaction_record
from wallets.errors import InsufficientFunds
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import ledger_post, platform_account, wallet_account_get_or_create

logger = logging.getLogger(__name__)

Tx = ProcessorTransaction.Kind
METADATA_KEY = "wallet_top_up_id"


class TopUpError(Conflict):
    default_code = "top_up_refused"


def top_up_not_found() -> NotFound:
    return NotFound("No such top-up.", code="top_up_not_found")


def is_top_up(payment: Payment) -> bool:
    return METADATA_KEY in payment.metadata


def top_up_processor(top_up: WalletTopUp) -> PaymentProcessor:
    """The processor of the top-up's payment (the configured one before any payment was made)."""
    return registry.processor(top_up.payment.processor if top_up.payment_id else None)


_processor = top_up_processor


def _lock(pk: int) -> WalletTopUp:
    return WalletTopUp.objects.select_for_update(of=("self",)).select_related("payment").get(pk=pk)


def _own(top_up: WalletTopUp, actor: User) -> None:
    if top_up.client_id != actor.pk:
        raise top_up_not_found()


# --- Starting a top-up ----------------------------------------------------------------------------


def top_up_limits(currency: str) -> tuple[Decimal, Decimal, Decimal]:
    """(minimum, maximum, daily limit) of top-ups in ``currency`` (settings ``WALLET_TOP_UP_*``)."""
    return settings.WALLET_TOP_UP_MIN, settings.WALLET_TOP_UP_MAX, settings.WALLET_TOP_UP_DAILY_LIMIT


@transaction.atomic
def top_up_create(*, client: User, amount: object, currency: str) -> WalletTopUp:
    """A top-up of ``amount`` in ``currency`` awaiting its card payment.

    Refused with a sentence and a code, creating nothing: a currency Holdfast does not use
    (``currency_not_supported``), an amount below the minimum or above the maximum
    (``top_up_below_minimum`` / ``top_up_above_maximum``), or one that would take the client's
    top-ups of the last 24 hours over the daily limit (``top_up_daily_limit``). The limit counts
    top-ups funded in the last 24 hours and those started in the last hour (a payment may still be
    on its way); one client's top-ups are started one at a time, so two cannot both slip under it.
    """
    currency = validate_currency(str(currency or ""))
    amount = parse_amount(amount, currency)
    minimum, maximum, daily = top_up_limits(currency)
    if amount < minimum:
        raise ValidationError(
            f"The smallest top-up is {format_money(minimum, currency)}.",
            code="top_up_below_minimum",
            details={"minimum": str(minimum)},
        )
    if amount > maximum:
        raise ValidationError(
            f"The largest top-up is {format_money(maximum, currency)}.",
            code="top_up_above_maximum",
            details={"maximum": str(maximum)},
        )
    with connection.cursor() as cursor:  # one client's top-ups start one at a time
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7301, client.pk])
    now = timezone.now()
    recent = WalletTopUp.objects.filter(client=client, currency=currency)
    used = sum(
        (
            t.amount
            for t in recent.filter(funded_at__gte=now - timedelta(days=1))
            | recent.filter(status=WalletTopUp.Status.AWAITING_PAYMENT, created_at__gte=now - timedelta(hours=1))
        ),
        Decimal("0"),
    )
    if used + amount > daily:
        raise ValidationError(
            f"This would take your top-ups in the last 24 hours over {format_money(daily, currency)}. "
            "Try a smaller amount or again tomorrow.",
            code="top_up_daily_limit",
            details={"limit": str(daily), "used": str(used)},
        )
    return WalletTopUp.objects.create(client=client, currency=currency, amount=amount)


@dataclass(frozen=True)
class TopUpCheckout:
    top_up: WalletTopUp
    client_secret: str
    publishable_key: str
    payment_reference: str
    customer_reference: str


def top_up_checkout_start(*, top_up: WalletTopUp, actor: User) -> TopUpCheckout:
    """Make sure the top-up has its payment at the processor (for the client's customer, so saved
    cards can pay it) and return what a browser or app needs. Repeatable, like an escrow's checkout."""
    _own(top_up, actor)
    top_up.refresh_from_db()
    if top_up.status != WalletTopUp.Status.AWAITING_PAYMENT:
        raise TopUpError("This top-up is already paid.", code="top_up_not_awaiting_payment")
    processor = _processor(top_up)
    previous = top_up.payment.reference if top_up.payment_id else ""
    payment = processor.payment_retrieve(previous) if previous else None
    if payment is None or payment.status == PaymentStatus.CANCELED:
        payment = processor.payment_create(
            amount=top_up.money("amount"),
            key=idempotency_key("wallet-top-up", top_up.pk, "payment-intent", *([previous] if previous else [])),
            group=f"wallet-top-up-{top_up.pk}",
            metadata={METADATA_KEY: str(top_up.pk), "holdfast_user_id": str(top_up.client_id)},
            description=f"Holdfast wallet top-up #{top_up.pk}",
            customer=customer_reference_for(user=actor, processor=processor.name),
        )
    with transaction.atomic():
        locked = _lock(top_up.pk)
        if locked.status != WalletTopUp.Status.AWAITING_PAYMENT:
            raise TopUpError("This top-up is already paid.", code="top_up_not_awaiting_payment")
        row, _ = transaction_record(
            subject=locked,
            processor=payment.processor,
            kind=Tx.PAYMENT_STARTED,
            reference=payment.reference,
            idempotency_key=f"{payment.processor}:payment_started:{payment.reference}",
            status=payment.status,
            amount=payment.amount.amount,
            currency=str(payment.amount.currency),
        )
        if locked.payment_id is None or locked.payment.reference != payment.reference:
            WalletTopUp.objects.filter(pk=locked.pk).update(payment=row, updated_at=timezone.now())
            locked.payment = row
    return TopUpCheckout(
        top_up=locked,
        client_secret=payment.client_secret,
        publishable_key=processor.client_config().get("publishable_key", ""),
        payment_reference=payment.reference,
        customer_reference=payment.customer_reference,
    )


@dataclass(frozen=True)
class TopUpAttempt:
    status: str  # succeeded, processing, requires_action
    redirect_url: str = ""


def top_up_payment_confirm(
    *, top_up: WalletTopUp, actor: User, payment_method: str, return_url: str, save_card: bool = False
) -> TopUpAttempt:
    """Pay the top-up with a card (a test card, a saved card of the client's, or a new one to save).

    Succeeded is not yet "in the wallet": the processor's success event funds it. A decline is
    recorded on the top-up and raised as ``card_declined``; the bank may ask for 3-D Secure.
    """
    checkout = top_up_checkout_start(top_up=top_up, actor=actor)
    processor = _processor(checkout.top_up)
    card_prepare_for_payment(
        user=actor,
        processor=processor,
        payment_reference=checkout.payment_reference,
        payment_customer=checkout.customer_reference,
        method=payment_method,
        save=save_card,
    )
    with transaction.atomic():
        locked = _lock(top_up.pk)
        attempt = locked.payment_attempts + 1
        WalletTopUp.objects.filter(pk=locked.pk).update(payment_attempts=attempt, updated_at=timezone.now())
    try:
        payment = processor.payment_confirm(
            checkout.payment_reference,
            method=payment_method,
            key=idempotency_key("wallet-top-up", top_up.pk, "confirm", attempt),
            return_url=return_url,
            save_method=save_card,
        )
    except PaymentError as exc:
        if exc.code == "card_declined":
            _failure_record(
                top_up_id=top_up.pk,
                processor=processor.name,
                payment_reference=checkout.payment_reference,
                message=exc.message,
                code=exc.details.get("decline_code", exc.code),
                charge_reference=exc.details.get("charge", ""),
            )
            raise
        payment = processor.payment_retrieve(checkout.payment_reference)
        if payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING):
            raise
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        return TopUpAttempt(status=payment.status, redirect_url=payment.action_url)
    if payment.status == PaymentStatus.REQUIRES_PAYMENT_METHOD and payment.failure is not None:
        top_up_failure_with(payment)
        raise PaymentError(payment.failure.message or "The payment failed.", code="card_declined")
    return TopUpAttempt(status=payment.status)


# --- What the processor says ----------------------------------------------------------------------


def _top_up_for(payment: Payment) -> WalletTopUp | None:
    top_up_id = payment.metadata.get(METADATA_KEY)
    if not (top_up_id and str(top_up_id).isdigit()):
        return None
    top_up = WalletTopUp.objects.select_related("payment").filter(pk=top_up_id).first()
    if top_up is None:
        return None
    # Tagged with our namespace, or the very payment the top-up names: not another installation's.
    if not (payment.ours or (top_up.payment_id and top_up.payment.reference == payment.reference)):
        return None
    return top_up


def top_up_failure_with(payment: Payment, *, event_id: str = "") -> WalletTopUp | None:
    """A top-up's payment failed (read back from the processor): say why, once per failed charge."""
    top_up = _top_up_for(payment)
    if top_up is None or payment.status == PaymentStatus.SUCCEEDED or payment.failure is None:
        return top_up
    return _failure_record(
        top_up_id=top_up.pk,
        processor=payment.processor,
        payment_reference=payment.reference,
        message=payment.failure.message,
        code=payment.failure.code,
        charge_reference=payment.failure.charge_reference,
        event_id=event_id,
    )


@transaction.atomic
def _failure_record(
    *,
    top_up_id: int,
    processor: str,
    payment_reference: str,
    message: str,
    code: str,
    charge_reference: str = "",
    event_id: str = "",
) -> WalletTopUp:
    top_up = _lock(top_up_id)
    if top_up.status != WalletTopUp.Status.AWAITING_PAYMENT:
        return top_up
    if charge_reference:
        key = f"{processor}:payment_failed:{charge_reference}"
    elif event_id:
        key = f"{processor}:payment_failed:event:{event_id}"
    else:
        key = f"{processor}:payment_failed:{payment_reference}:{top_up.payment_attempts}"
    transaction_record(
        subject=top_up,
        processor=processor,
        kind=Tx.PAYMENT_FAILED,
        reference=payment_reference,
        idempotency_key=key,
        charge_reference=charge_reference,
        failure_code=code or "",
        failure_message=message,
        event_id=event_id,
    )
    WalletTopUp.objects.filter(pk=top_up.pk).update(last_payment_error=message[:500], updated_at=timezone.now())
    top_up.last_payment_error = message[:500]
    return top_up


def top_up_fund_from_payment(*, payment_reference: str, processor: str | None = None) -> WalletTopUp | None:
    """Fund the top-up whose payment succeeded, re-read from the processor (tests, support)."""
    return top_up_fund_with(registry.processor(processor).payment_retrieve(payment_reference))


def top_up_fund_with(payment: Payment, *, event_id: str = "") -> WalletTopUp | None:
    """Put a succeeded top-up payment into the client's wallet, once, whatever the order or number
    of calls (webhook, duplicate webhook, the reconcile job). A payment that cannot fund it (another
    amount, or a second payment for a top-up already funded) is returned in full at the processor."""
    found = _top_up_for(payment)
    if payment.status != PaymentStatus.SUCCEEDED or found is None:
        return None
    paid = payment.amount_received if payment.amount_received.amount else payment.amount
    with transaction.atomic():
        top_up = _lock(found.pk)
        if top_up.funded_at is not None and top_up.payment.reference != payment.reference:
            returned = "A second payment for a top-up already paid"
        elif paid != top_up.money("amount"):
            returned = f"Paid {paid.amount} {paid.currency}; the top-up is {top_up.amount} {top_up.currency}"
        else:
            returned = ""
            if top_up.funded_at is None:
                _fund(top_up, payment=payment, event_id=event_id)
    if returned:
        logger.error("Payment %s for top-up %s returned: %s", payment.reference, top_up.pk, returned)
        _payment_return(top_up=top_up, payment=payment, amount=paid)
    return top_up


def _fund(top_up: WalletTopUp, *, payment: Payment, event_id: str) -> None:
    ledger_post(
        idempotency_key=f"wallet-top-up:{top_up.pk}:funding",
        kind=JournalEntry.Kind.WALLET_TOP_UP,
        reference=top_up,
        lines=[
            (platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=top_up.currency), -top_up.amount),
            (wallet_account_get_or_create(user=top_up.client, currency=top_up.currency), top_up.amount),
        ],
        actor=None,
        memo=f"Card payment {payment.reference}",
    )
    row, _ = transaction_record(
        subject=top_up,
        processor=payment.processor,
        kind=Tx.PAYMENT_SUCCEEDED,
        reference=payment.reference,
        idempotency_key=f"{payment.processor}:payment_succeeded:{payment.reference}",
        charge_reference=payment.charge_reference,
        status=payment.status,
        amount=payment.amount_received.amount,
        currency=str(payment.amount_received.currency),
        event_id=event_id,
    )
    now = timezone.now()
    WalletTopUp.objects.filter(pk=top_up.pk).update(
        status=WalletTopUp.Status.SUCCEEDED, funded_at=now, payment=row, last_payment_error="", updated_at=now
    )
    top_up.status, top_up.funded_at, top_up.payment = WalletTopUp.Status.SUCCEEDED, now, row
    events.publish(
        WalletToppedUp(top_up_id=top_up.pk, user_id=top_up.client_id, amount=top_up.amount, currency=top_up.currency)
    )


def _payment_return(*, top_up: WalletTopUp, payment: Payment, amount: Money) -> None:
    key = f"{payment.processor}:payment_returned:{payment.reference}"
    if ProcessorTransaction.objects.filter(idempotency_key=key).exists():
        return
    refund = registry.processor(payment.processor).refund_create(
        payment_reference=payment.reference,
        amount=amount,
        key=idempotency_key("payment-return", payment.reference),
        reason="duplicate",
        metadata={METADATA_KEY: str(top_up.pk), "returned_payment_intent": payment.reference},
    )
    transaction_record(
        subject=top_up,
        processor=payment.processor,
        kind=Tx.PAYMENT_RETURNED,
        reference=payment.reference,
        idempotency_key=key,
        charge_reference=refund.charge_reference,
        status=refund.status,
        amount=amount.amount,
        currency=str(amount.currency),
    )


def top_ups_payment_reconcile(*, quiet_for: timedelta = timedelta(minutes=10)) -> int:
    """Fund top-ups whose payment succeeded but whose webhook never came. Run by beat."""
    funded = 0
    now = timezone.now()
    waiting = WalletTopUp.objects.filter(
        status=WalletTopUp.Status.AWAITING_PAYMENT,
        updated_at__lte=now - quiet_for,
        updated_at__gte=now - timedelta(days=7),
        payment__isnull=False,
    ).select_related("payment")
    for top_up in waiting:
        try:
            payment = _processor(top_up).payment_retrieve(top_up.payment.reference)
            if payment.status == PaymentStatus.SUCCEEDED:
                top_up = top_up_fund_with(payment)
                funded += top_up is not None and top_up.status == WalletTopUp.Status.SUCCEEDED
        except ApplicationError as exc:
            logger.warning("Top-up %s: payment not checked: %s", top_up.pk, exc)
    return funded


# --- Withdrawing to the card ------------------------------------------------------------------------


def top_up_withdraw(*, top_up: WalletTopUp, actor: User, amount: object = None) -> WalletWithdrawal:
    """Send unused money of this top-up back to the card that paid it (``amount=None``: as much as
    can go: what is left of the top-up, at most what the wallet holds).

    Refused, moving nothing: another client's top-up (``top_up_not_found``), one not paid
    (``top_up_not_funded``), more than is left of it (``withdrawal_exceeds_top_up``) or than the
    wallet holds (``wallet_insufficient_funds``). Its id keys the processor's refund, so a retry
    refunds once.
    """
    withdrawal = top_up_withdrawal_reserve(top_up=top_up, actor=actor, amount=amount)
    return top_up_withdrawal_execute(withdrawal)


@transaction.atomic
def top_up_withdrawal_reserve(*, top_up: WalletTopUp, actor: User, amount: object = None) -> WalletWithdrawal:
    _own(top_up, actor)
    top_up = _lock(top_up.pk)
    if top_up.status != WalletTopUp.Status.SUCCEEDED:
        raise TopUpError("Only a top-up that reached your wallet can be withdrawn.", code="top_up_not_funded")
    wallet = wallet_account_get_or_create(user=top_up.client, currency=top_up.currency)
    left = top_up.amount - top_up.withdrawn_amount
    if amount is None or amount == "":
        balance = LedgerAccount.objects.values_list("balance", flat=True).get(pk=wallet.pk)
        amount = min(left, balance)
    else:
        amount = parse_amount(amount, top_up.currency)
    if amount <= 0:
        raise ValidationError(
            "There is nothing of this top-up left in your wallet to withdraw.", code="nothing_to_withdraw"
        )
    if amount > left:
        raise ValidationError(
            f"At most {format_money(left, top_up.currency)} of this top-up can go back to its card.",
            code="withdrawal_exceeds_top_up",
            details={"left": str(left)},
        )
    withdrawal = WalletWithdrawal.objects.create(top_up=top_up, amount=amount, actor=actor)
    try:
        ledger_post(
            idempotency_key=f"wallet-withdrawal:{withdrawal.pk}",
            kind=JournalEntry.Kind.WALLET_WITHDRAWAL,
            reference=top_up,
            lines=[
                (wallet, -amount),
                (platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=top_up.currency), amount),
            ],
            actor=actor,
            memo=f"Back to the card of top-up #{top_up.pk}",
        )
    except InsufficientFunds as exc:
        available = exc.details.get("available", "0")
        raise TopUpError(
            f"Your {top_up.currency} wallet holds {format_money(available, top_up.currency)}: "
            f"{format_money(amount, top_up.currency)} cannot be withdrawn.",
            code="wallet_insufficient_funds",
            details={"available": str(available), "required": str(amount)},
        ) from exc
    WalletTopUp.objects.filter(pk=top_up.pk).update(withdrawn_amount=top_up.withdrawn_amount + amount)
    return withdrawal


def top_up_withdrawal_execute(withdrawal: WalletWithdrawal) -> WalletWithdrawal:
    """Ask the processor to refund the reserved amount to the top-up's card (same key every try)."""
    top_up = WalletTopUp.objects.select_related("payment").get(pk=withdrawal.top_up_id)
    processor = _processor(top_up)
    try:
        answer = processor.refund_create(
            payment_reference=top_up.payment.reference,
            amount=Money(withdrawal.amount, top_up.currency),
            key=idempotency_key("wallet-withdrawal", withdrawal.pk),
            metadata={"wallet_withdrawal_id": str(withdrawal.pk), METADATA_KEY: str(top_up.pk)},
        )
    except PaymentProviderUnavailable:
        logger.warning("Withdrawal %s: no answer from the processor; settled later", withdrawal.pk)
        raise PaymentProviderUnavailable(
            "The payment service did not answer. The withdrawal is recorded and will be completed automatically.",
            code="withdrawal_pending",
        )
    except PaymentError as exc:
        withdrawal_fail(withdrawal=withdrawal, message=exc.message)
        raise
    return _withdrawal_settle(withdrawal=withdrawal, answer=answer)


def _withdrawal_settle(*, withdrawal: WalletWithdrawal, answer: Refund, event_id: str = "") -> WalletWithdrawal:
    top_up = WalletTopUp.objects.get(pk=withdrawal.top_up_id)
    transaction_record(
        subject=top_up,
        processor=answer.processor,
        kind=Tx.WITHDRAWAL,
        reference=answer.reference,
        idempotency_key=f"{answer.processor}:withdrawal:{answer.reference}:{answer.status}",
        charge_reference=answer.charge_reference,
        status=answer.status,
        amount=answer.amount.amount,
        currency=str(answer.amount.currency),
        failure_message=answer.failure_reason,
        event_id=event_id,
    )
    if answer.status == RefundStatus.SUCCEEDED:
        with transaction.atomic():
            locked = WalletWithdrawal.objects.select_for_update().get(pk=withdrawal.pk)
            if locked.status == WalletWithdrawal.Status.PENDING:
                now = timezone.now()
                WalletWithdrawal.objects.filter(pk=locked.pk).update(
                    status=WalletWithdrawal.Status.SUCCEEDED, processor_reference=answer.reference, completed_at=now
                )
                events.publish(
                    WalletWithdrawn(
                        withdrawal_id=locked.pk,
                        top_up_id=top_up.pk,
                        user_id=top_up.client_id,
                        amount=locked.amount,
                        currency=top_up.currency,
                    )
                )
    elif answer.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
        at = registry.processor(answer.processor).display_name
        withdrawal_fail(
            withdrawal=withdrawal,
            message=f"{at} reports it {answer.status} ({answer.failure_reason or answer.status}).",
        )
    else:
        WalletWithdrawal.objects.filter(pk=withdrawal.pk, status=WalletWithdrawal.Status.PENDING).update(
            processor_reference=answer.reference
        )
    withdrawal.refresh_from_db()
    return withdrawal


@transaction.atomic
def withdrawal_fail(*, withdrawal: WalletWithdrawal, message: str) -> None:
    """The card refund was refused or failed: the money goes back into the wallet, visibly."""
    top_up = _lock(withdrawal.top_up_id)
    withdrawal = WalletWithdrawal.objects.select_for_update().get(pk=withdrawal.pk)
    if withdrawal.status != WalletWithdrawal.Status.PENDING:
        return
    ledger_post(
        idempotency_key=f"wallet-withdrawal:{withdrawal.pk}:reversal",
        kind=JournalEntry.Kind.WALLET_WITHDRAWAL,
        reference=top_up,
        lines=[
            (platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=top_up.currency), -withdrawal.amount),
            (wallet_account_get_or_create(user=top_up.client, currency=top_up.currency), withdrawal.amount),
        ],
        actor=None,
        memo=f"Withdrawal failed, back in the wallet: {message}",
    )
    WalletTopUp.objects.filter(pk=top_up.pk).update(withdrawn_amount=top_up.withdrawn_amount - withdrawal.amount)
    WalletWithdrawal.objects.filter(pk=withdrawal.pk).update(
        status=WalletWithdrawal.Status.FAILED, failure_message=message[:500], completed_at=timezone.now()
    )


def withdrawals_settle_for_charge(*, charge_reference: str, processor: str | None = None, event_id: str = "") -> int:
    """Settle our pending withdrawals of a top-up's charge from its refunds, read back. Returns how many."""
    top_up = WalletTopUp.objects.filter(payment__charge_reference=charge_reference).first()
    if top_up is None:
        return 0
    settled = 0
    for answer in registry.processor(processor).refunds_for_charge(charge_reference):
        withdrawal_id = answer.metadata.get("wallet_withdrawal_id")
        if not (withdrawal_id and str(withdrawal_id).isdigit()):
            settled += _withdrawal_adopt(top_up=top_up, answer=answer)
            continue
        withdrawal = WalletWithdrawal.objects.filter(pk=withdrawal_id, top_up=top_up).first()
        if withdrawal is not None and withdrawal.status == WalletWithdrawal.Status.PENDING:
            settled += _withdrawal_settle(withdrawal=withdrawal, answer=answer, event_id=event_id).status != (
                WalletWithdrawal.Status.PENDING
            )
    return settled


def _withdrawal_adopt(*, top_up: WalletTopUp, answer: Refund) -> bool:
    """A refund of a top-up made outside Holdfast (the Stripe Dashboard): that money is no longer
    the client's to spend, so it leaves the wallet as a withdrawal, once (keyed by the refund).
    If the wallet no longer holds it, a person must sort it out: logged as an error, nothing moved."""
    if answer.status != RefundStatus.SUCCEEDED or answer.metadata.get("returned_payment_intent"):
        return False
    if WalletWithdrawal.objects.filter(processor_reference=answer.reference).exists():
        return False
    at = registry.processor(answer.processor).display_name
    try:
        with transaction.atomic():
            top_up = _lock(top_up.pk)
            if WalletWithdrawal.objects.filter(processor_reference=answer.reference).exists():
                return False
            amount = answer.amount.amount
            if amount > top_up.amount - top_up.withdrawn_amount:
                raise TopUpError(f"More than is left of top-up {top_up.pk}", code="withdrawal_exceeds_top_up")
            withdrawal = WalletWithdrawal.objects.create(
                top_up=top_up,
                amount=amount,
                processor_reference=answer.reference,
                status=WalletWithdrawal.Status.SUCCEEDED,
                completed_at=timezone.now(),
            )
            ledger_post(
                idempotency_key=f"wallet-withdrawal:{withdrawal.pk}",
                kind=JournalEntry.Kind.WALLET_WITHDRAWAL,
                reference=top_up,
                lines=[
                    (wallet_account_get_or_create(user=top_up.client, currency=top_up.currency), -amount),
                    (platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=top_up.currency), amount),
                ],
                actor=None,
                memo=f"Refunded at {at} ({answer.reference})",
            )
            WalletTopUp.objects.filter(pk=top_up.pk).update(withdrawn_amount=top_up.withdrawn_amount + amount)
    except ApplicationError as exc:
        logger.error(
            "Refund %s of top-up %s made outside Holdfast not taken from the wallet: %s",
            answer.reference,
            top_up.pk,
            exc,
        )
        return False
    return True


def withdrawals_settle(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Settle withdrawals still pending a while after they were asked for: the refunds of their
    charges are read back, and one the processor never received is asked again with the same key.
    Run by beat."""
    settled = 0
    pending = WalletWithdrawal.objects.filter(
        status=WalletWithdrawal.Status.PENDING, created_at__lte=timezone.now() - older_than
    ).select_related("top_up__payment")
    for withdrawal in pending:
        try:
            if withdrawal.processor_reference:
                payment = withdrawal.top_up.payment
                settled += withdrawals_settle_for_charge(
                    charge_reference=payment.charge_reference, processor=payment.processor
                )
            else:
                settled += top_up_withdrawal_execute(withdrawal).status != WalletWithdrawal.Status.PENDING
        except ApplicationError as exc:
            logger.warning("Withdrawal %s not settled yet: %s", withdrawal.pk, exc)
    return settled
