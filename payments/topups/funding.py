"""What the processor says of a top-up's payment: declines, success (the wallet is credited once),
payments returned, and the reconcile job for webhooks that never came."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from core import events
from core.errors import ApplicationError
from payments.events import WalletToppedUp
from payments.models import WalletTopUp
from payments.topups.base import METADATA_KEY, Tx, top_up_lock, top_up_processor
from processors import registry
from processors.interface import Payment, PaymentStatus
from processors.keys import idempotency_key
from processors.models import ProcessorTransaction
from processors.services import transaction_record
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import ledger_post, platform_account, wallet_account_get_or_create

logger = logging.getLogger(__name__)


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
    return top_up_failure_record(
        top_up_id=top_up.pk,
        processor=payment.processor,
        payment_reference=payment.reference,
        message=payment.failure.message,
        code=payment.failure.code,
        charge_reference=payment.failure.charge_reference,
        event_id=event_id,
    )


@transaction.atomic
def top_up_failure_record(
    *,
    top_up_id: int,
    processor: str,
    payment_reference: str,
    message: str,
    code: str,
    charge_reference: str = "",
    event_id: str = "",
) -> WalletTopUp:
    top_up = top_up_lock(top_up_id)
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
        top_up = top_up_lock(found.pk)
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
            payment = top_up_processor(top_up).payment_retrieve(top_up.payment.reference)
            if payment.status == PaymentStatus.SUCCEEDED:
                top_up = top_up_fund_with(payment)
                funded += top_up is not None and top_up.status == WalletTopUp.Status.SUCCEEDED
        except ApplicationError as exc:
            logger.warning("Top-up %s: payment not checked: %s", top_up.pk, exc)
    return funded
