"""Starting a top-up: the limits, the payment at the processor, confirming it with a card."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ValidationError
from core.money import format_money, parse_amount, validate_currency
from payments.cards import card_prepare_for_payment
from payments.models import WalletTopUp
from payments.topups.base import METADATA_KEY, TopUpError, Tx, top_up_lock, top_up_processor, top_up_require_owner
from payments.topups.funding import top_up_failure_record, top_up_failure_with
from processors.interface import PaymentError, PaymentProviderUnavailable, PaymentStatus
from processors.keys import idempotency_key
from processors.services import customer_reference_for, transaction_record

logger = logging.getLogger(__name__)


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
    top_up_require_owner(top_up, actor)
    top_up.refresh_from_db()
    if top_up.status != WalletTopUp.Status.AWAITING_PAYMENT:
        raise TopUpError("This top-up is already paid.", code="top_up_not_awaiting_payment")
    processor = top_up_processor(top_up)
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
        locked = top_up_lock(top_up.pk)
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
    processor = top_up_processor(checkout.top_up)
    card_prepare_for_payment(
        user=actor,
        processor=processor,
        payment_reference=checkout.payment_reference,
        payment_customer=checkout.customer_reference,
        method=payment_method,
        save=save_card,
    )
    with transaction.atomic():
        locked = top_up_lock(top_up.pk)
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
            top_up_failure_record(
                top_up_id=top_up.pk,
                processor=processor.name,
                payment_reference=checkout.payment_reference,
                message=exc.message,
                code=exc.details.get("decline_code", exc.code),
                charge_reference=exc.details.get("charge", ""),
            )
            raise
        # Not a decline (no answer, a form sent twice): if the payment went through after all, say so.
        try:
            payment = processor.payment_retrieve(checkout.payment_reference)
        except PaymentProviderUnavailable:
            # The confirm may have charged the card: the processor's default "Nothing was charged"
            # could be false here, and the reconcile job funds the top-up if it was.
            raise PaymentProviderUnavailable(
                "The payment service did not answer. If your card was charged, the money shows in your "
                "wallet within minutes; if not, try again then."
            ) from exc
        if payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING):
            raise
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        return TopUpAttempt(status=payment.status, redirect_url=payment.action_url)
    if payment.status == PaymentStatus.REQUIRES_PAYMENT_METHOD and payment.failure is not None:
        top_up_failure_with(payment)
        raise PaymentError(payment.failure.message or "The payment failed.", code="card_declined")
    return TopUpAttempt(status=payment.status)
