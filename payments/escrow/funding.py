"""Paying for an escrow: checkout, confirming a card, declines, and funding when the processor says so.

Money path (DESIGN §3): the client's card is charged on the platform account (a payment captured
at once). Only the processor's word that the payment succeeded (its webhook, or the reconcile job
asking it) funds the escrow: the ledger moves the client total from the processor balance into the
escrow's account with the key ``escrow:<id>:funding``. Each thing the processor did is one row of
``processors.ProcessorTransaction`` with a unique key, which is how a decline reported by both the
confirm call and its webhook is recorded once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from accounts.models import User
from core import events
from core.errors import ApplicationError
from payments import topups
from payments.cards import card_prepare_for_payment
from payments.escrow.errors import EscrowError, require_party
from payments.escrow.ledger import post_between_processor_and_escrow
from payments.escrow.refunds import escrow_needs_attention, escrow_refund_execute, escrow_refund_reserve
from payments.escrow.transitions import escrow_event_record, escrow_lock, escrow_transition
from payments.events import EscrowFunded, EscrowPaymentFailed
from payments.models import Escrow, EscrowEvent
from processors import registry
from processors.interface import (
    EventKind,
    Payment,
    PaymentError,
    PaymentProcessor,
    PaymentProviderUnavailable,
    PaymentStatus,
    ProcessorEvent,
)
from processors.keys import idempotency_key
from processors.models import ProcessorTransaction
from processors.services import transaction_record
from wallets.models import JournalEntry

logger = logging.getLogger(__name__)

Tx = ProcessorTransaction.Kind


def escrow_processor(escrow: Escrow) -> PaymentProcessor:
    """The processor of the escrow's payment (the configured one before any payment was made)."""
    return registry.processor(escrow.payment.processor if escrow.payment_id else None)


def _escrow_for_payment(payment: Payment) -> Escrow | None:
    escrow_id = payment.metadata.get("escrow_id")
    return Escrow.objects.filter(pk=escrow_id).first() if escrow_id and str(escrow_id).isdigit() else None


def _is_ours(escrow: Escrow, payment: Payment) -> bool:
    # Tagged with our namespace, or the payment the escrow itself names (made before tagging).
    return payment.ours or (escrow.payment_id is not None and escrow.payment.reference == payment.reference)


# --- Checkout -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkout:
    escrow: Escrow
    client_secret: str
    publishable_key: str
    payment_reference: str
    customer_reference: str = ""  # the processor's customer the payment is for (saved cards), if any


def escrow_checkout_start(*, escrow: Escrow, actor: User) -> Checkout:
    """Make sure the escrow has its payment at the processor and return what a browser or app needs.

    Only the client may call it, while the escrow awaits payment. Calling it again returns the
    same payment, read back from the processor (an idempotency key alone would not do: Stripe
    forgets keys after 24 hours, and a second payment could charge the client twice). Only when
    that one was cancelled is a new one made, and the escrow then points at the new one.
    """
    require_party(escrow, actor, client_only=True)
    escrow.refresh_from_db()
    if escrow.status != Escrow.Status.AWAITING_PAYMENT:
        raise EscrowError("This escrow is not waiting for a payment.", code="escrow_not_awaiting_payment")
    processor = escrow_processor(escrow)
    previous = escrow.payment.reference if escrow.payment_id else ""
    payment = processor.payment_retrieve(previous) if previous else None
    if payment is None or payment.status == PaymentStatus.CANCELED:
        payment = processor.payment_create(
            amount=escrow.money("client_total"),
            key=idempotency_key("escrow", escrow.pk, "payment-intent", *([previous] if previous else [])),
            group=f"escrow-{escrow.pk}",
            metadata={"escrow_id": str(escrow.pk), "task_id": str(escrow.task_id)},
            description=f"Holdfast escrow #{escrow.pk}: {escrow.task.title[:80]}",
        )
    with transaction.atomic():
        locked = escrow_lock(escrow.pk)
        if locked.status != Escrow.Status.AWAITING_PAYMENT:  # cancelled or paid meanwhile
            raise EscrowError("This escrow is not waiting for a payment.", code="escrow_not_awaiting_payment")
        row, created = transaction_record(
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
            Escrow.objects.filter(pk=locked.pk).update(payment=row, updated_at=timezone.now())
            locked.payment = row
            escrow_event_record(locked, EscrowEvent.Kind.PAYMENT_STARTED, actor=actor, amount=locked.client_total)
    return Checkout(
        escrow=locked,
        client_secret=payment.client_secret,
        publishable_key=processor.client_config().get("publishable_key", ""),
        payment_reference=payment.reference,
        customer_reference=payment.customer_reference,
    )


@dataclass(frozen=True)
class PaymentAttempt:
    status: str  # PaymentStatus.SUCCEEDED | REQUIRES_ACTION | PROCESSING
    redirect_url: str = ""


def escrow_payment_confirm(
    *, escrow: Escrow, actor: User, payment_method: str, return_url: str, save_card: bool = False
) -> PaymentAttempt:
    """Confirm the escrow's payment with a payment method (test cards, saved cards).

    A saved card must be the client's own (another client's is ``card_not_found``, a 404, however
    it was learnt); ``save_card`` keeps a new card for the client once the payment succeeds. The
    bank may still ask for 3-D Secure with a saved card (``requires_action`` and its page). A decline
    is recorded on the escrow (reason shown, retry possible) and raised as
    ``card_declined``. Success is not yet "funded": the escrow is funded when the processor's
    success event arrives. Each attempt has its own idempotency key, so a double-submitted form
    confirms once.
    """
    checkout = escrow_checkout_start(escrow=escrow, actor=actor)
    processor = escrow_processor(checkout.escrow)
    card_prepare_for_payment(
        user=actor,
        processor=processor,
        payment_reference=checkout.payment_reference,
        payment_customer=checkout.customer_reference,
        method=payment_method,
        save=save_card,
    )
    with transaction.atomic():
        locked = escrow_lock(escrow.pk)
        attempt = locked.payment_attempts + 1
        Escrow.objects.filter(pk=locked.pk).update(payment_attempts=attempt, updated_at=timezone.now())
    try:
        payment = processor.payment_confirm(
            checkout.payment_reference,
            method=payment_method,
            key=idempotency_key("escrow", escrow.pk, "confirm", attempt),
            return_url=return_url,
            save_method=save_card,
        )
    except PaymentError as exc:
        if exc.code == "card_declined":
            escrow_payment_failure_record(
                escrow=escrow,
                processor=processor.name,
                payment_reference=checkout.payment_reference,
                message=exc.message,
                code=exc.details.get("decline_code", exc.code),
                charge_reference=exc.details.get("charge", ""),
            )
            raise
        # Not a decline (a form sent twice, an unknown payment method, no answer): nothing is
        # recorded against the card; if the payment went through after all, say so.
        try:
            payment = processor.payment_retrieve(checkout.payment_reference)
        except PaymentProviderUnavailable:
            raise PaymentProviderUnavailable(
                "The payment service did not answer. If your card was charged, the escrow shows as "
                "funded within minutes; if not, try again then."
            ) from exc
        if payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING):
            raise
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        with transaction.atomic():
            escrow_event_record(escrow_lock(escrow.pk), EscrowEvent.Kind.PAYMENT_ACTION_REQUIRED, actor=actor)
        return PaymentAttempt(status=payment.status, redirect_url=payment.action_url)
    if payment.status == PaymentStatus.REQUIRES_PAYMENT_METHOD and payment.failure is not None:
        message = payment.failure.message or "The payment failed."
        escrow_payment_failure_record(
            escrow=escrow,
            processor=processor.name,
            payment_reference=payment.reference,
            message=message,
            code=payment.failure.code,
            charge_reference=payment.failure.charge_reference,
        )
        raise PaymentError(message, code="card_declined")
    if payment.status == PaymentStatus.SUCCEEDED:  # an earlier decline is no longer news
        with transaction.atomic():
            _payment_succeeded_record(escrow_lock(escrow.pk), payment)
    return PaymentAttempt(status=payment.status)


def _payment_succeeded_record(escrow: Escrow, payment: Payment, event_id: str = "") -> ProcessorTransaction:
    row, _ = transaction_record(
        subject=escrow,
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
    return row


@transaction.atomic
def escrow_payment_failure_record(
    *,
    escrow: Escrow,
    processor: str,
    payment_reference: str,
    message: str,
    code: str,
    charge_reference: str = "",
    event_id: str = "",
) -> Escrow:
    """Remember why a payment attempt failed, so the checkout page can say so.

    Each declined attempt is one failed charge: the confirm call and the processor's failure event
    both report it, and it is recorded once (keyed by the failed charge, else by the event).
    """
    escrow = escrow_lock(escrow.pk)
    if escrow.status != Escrow.Status.AWAITING_PAYMENT:
        return escrow
    if charge_reference:
        key = f"{processor}:payment_failed:{charge_reference}"
    elif event_id:
        key = f"{processor}:payment_failed:event:{event_id}"
    else:  # nothing identifies the attempt: each report is one
        key = f"{processor}:payment_failed:{payment_reference}:{timezone.now().isoformat()}:{escrow.payment_attempts}"
    _, created = transaction_record(
        subject=escrow,
        processor=processor,
        kind=Tx.PAYMENT_FAILED,
        reference=payment_reference,
        idempotency_key=key,
        charge_reference=charge_reference,
        failure_code=code or "",
        failure_message=message,
        event_id=event_id,
    )
    if created:
        escrow_event_record(escrow, EscrowEvent.Kind.PAYMENT_FAILED, reason=message)
        events.publish(EscrowPaymentFailed(escrow_id=escrow.pk, task_id=escrow.task_id, message=message, attempt=key))
    return escrow


@registry.event_handler(EventKind.PAYMENT_FAILED)
def escrow_payment_failure_from_event(event: ProcessorEvent) -> object:
    # Payments also top up wallets: the payment's metadata says which (read back, not the payload).
    payment = registry.processor(event.processor).payment_retrieve(event.reference)
    if topups.is_top_up(payment):
        return topups.top_up_failure_with(payment, event_id=event.event_id)
    return escrow_payment_failure_from_payment(
        payment_reference=event.reference, processor=event.processor, event_id=event.event_id, payment=payment
    )


def escrow_payment_failure_from_payment(
    *, payment_reference: str, processor: str | None = None, event_id: str = "", payment: Payment | None = None
) -> Escrow | None:
    """A payment failed: re-read it from the processor and record why (once per failed charge)."""
    payment = payment or registry.processor(processor).payment_retrieve(payment_reference)
    escrow = _escrow_for_payment(payment)
    if escrow is not None and not _is_ours(escrow, payment):
        escrow = None  # another installation's on the same processor account
    if escrow is None or payment.status == PaymentStatus.SUCCEEDED or payment.failure is None:
        return escrow
    return escrow_payment_failure_record(
        escrow=escrow,
        processor=payment.processor,
        payment_reference=payment.reference,
        message=payment.failure.message,
        code=payment.failure.code,
        charge_reference=payment.failure.charge_reference,
        event_id=event_id,
    )


# --- Funding ------------------------------------------------------------------------------------


@registry.event_handler(EventKind.PAYMENT_SUCCEEDED)
def escrow_fund_from_event(event: ProcessorEvent) -> object:
    payment = registry.processor(event.processor).payment_retrieve(event.reference)
    if topups.is_top_up(payment):  # a wallet top-up, funded the same way (payments/topups/)
        return topups.top_up_fund_with(payment, event_id=event.event_id)
    return escrow_fund_with(payment, event_id=event.event_id)


def escrow_fund_from_payment(
    *, payment_reference: str, processor: str | None = None, event_id: str = ""
) -> Escrow | None:
    """Fund the escrow whose payment succeeded. Called by the webhook task and the reconcile job.

    The payment is re-read from the processor (the webhook payload is not trusted). Called any
    number of times, in any order with other events, it funds once: the ledger entry's key is
    ``escrow:<id>:funding``. Every successful payment for an escrow ends up either funding it or
    back with the client:

    - a payment for another amount than the escrow's client total, or a second payment for an
      escrow already paid, is returned in full at the processor (it never entered the ledger);
    - a payment that arrives after the escrow was cancelled funds it in the ledger and is then
      refunded through the usual refund path; each call retries that refund until it is made.
    """
    return escrow_fund_with(registry.processor(processor).payment_retrieve(payment_reference), event_id=event_id)


def escrow_fund_with(payment: Payment, *, event_id: str = "") -> Escrow | None:
    """``escrow_fund_from_payment`` for a payment just read from its processor (the reconcile job
    and cancel have it already: no second read)."""
    if topups.is_top_up(payment):
        return None
    found = _escrow_for_payment(payment)
    if payment.status != PaymentStatus.SUCCEEDED or found is None:
        return None
    paid = payment.amount_received if payment.amount_received.amount else payment.amount
    with transaction.atomic():
        escrow = escrow_lock(found.pk)
        if not _is_ours(escrow, payment):
            # Another installation's on the same processor account (or made before payments were
            # tagged, and not this escrow's): not ours to fund or to return.
            logger.info("Payment %s (escrow %s) is not this installation's", payment.reference, escrow.pk)
            return None
        if escrow.funded_at is not None and (
            escrow.funding_source == Escrow.FundingSource.WALLET or escrow.payment.reference != payment.reference
        ):
            returned = "A second payment for an escrow already paid"
        elif paid != escrow.money("client_total"):
            returned = (
                f"Paid {paid.amount} {paid.currency}; the escrow's total is {escrow.client_total} {escrow.currency}"
            )
        else:
            returned = ""
            if escrow.funded_at is None:
                _fund(escrow, payment=payment, event_id=event_id)
    if returned:
        logger.error("Payment %s for escrow %s returned: %s", payment.reference, escrow.pk, returned)
        _payment_return(escrow=escrow, payment=payment, amount=paid, reason=returned)
    elif escrow.status == Escrow.Status.CANCELLED and escrow.client_total > escrow.refunded_amount:
        logger.warning("Escrow %s was paid after it was cancelled; refunding", escrow.pk)
        _late_payment_refund(escrow)
    return escrow


def _fund(escrow: Escrow, *, payment: Payment, event_id: str) -> None:
    """Book the payment into the escrow (locked by the caller); a cancelled escrow stays cancelled."""
    post_between_processor_and_escrow(
        escrow=escrow,
        amount=escrow.client_total,
        into_escrow=True,
        key=f"escrow:{escrow.pk}:funding",
        kind=JournalEntry.Kind.ESCROW_FUNDING,
        actor=None,
        memo=f"Card payment {payment.reference}",
    )
    row = _payment_succeeded_record(escrow, payment, event_id)
    now = timezone.now()
    if escrow.status == Escrow.Status.CANCELLED:  # paid too late: booked, then refunded by the caller
        Escrow.objects.filter(pk=escrow.pk).update(funded_at=now, payment=row, updated_at=now)
        escrow.funded_at, escrow.payment = now, row
        escrow_event_record(
            escrow,
            EscrowEvent.Kind.FUNDED,
            amount=escrow.client_total,
            from_status=escrow.status,
            to_status=escrow.status,
        )
        return
    escrow_transition(
        escrow=escrow,
        to=Escrow.Status.FUNDED,
        kind=EscrowEvent.Kind.FUNDED,
        amount=escrow.client_total,
        fields={"funded_at": now, "payment_id": row.pk},
        event=EscrowFunded(escrow_id=escrow.pk, task_id=escrow.task_id),
        now=now,
    )
    escrow.payment = row


def _late_payment_refund(escrow: Escrow) -> None:
    try:
        refund = escrow_refund_reserve(
            escrow=escrow, amount=None, actor=None, reason="Paid after the escrow was cancelled"
        )
    except EscrowError as exc:
        if exc.code != "refund_in_progress":
            raise
        return  # escrow_refunds_settle sees that one through
    try:
        escrow_refund_execute(refund)
    except PaymentError as exc:
        if not isinstance(exc, PaymentProviderUnavailable):  # no answer: settled later
            escrow_needs_attention(
                escrow, f"Paid after it was cancelled; the refund was refused: {exc.message}", refund.amount
            )
        raise


def _payment_return(*, escrow: Escrow, payment: Payment, amount: Money, reason: str) -> None:
    """Give back, in full, a payment that cannot fund the escrow. Keyed by the payment, so each
    call asks the processor once (the same key) and the timeline says so once."""
    key = f"{payment.processor}:payment_returned:{payment.reference}"
    if ProcessorTransaction.objects.filter(idempotency_key=key).exists():
        return
    try:
        refund = registry.processor(payment.processor).refund_create(
            payment_reference=payment.reference,
            amount=amount,
            key=idempotency_key("payment-return", payment.reference),
            reason="duplicate",
            metadata={"escrow_id": str(escrow.pk), "returned_payment_intent": payment.reference},
        )
    except PaymentError as exc:
        if not isinstance(exc, PaymentProviderUnavailable):  # no answer: the task retries
            escrow_needs_attention(
                escrow,
                f"A payment to return could not be refunded: {exc.message} ({payment.reference})",
                amount.amount,
            )
        raise
    with transaction.atomic():
        escrow = escrow_lock(escrow.pk)
        _, created = transaction_record(
            subject=escrow,
            processor=payment.processor,
            kind=Tx.PAYMENT_RETURNED,
            reference=payment.reference,
            idempotency_key=key,
            charge_reference=refund.charge_reference,
            status=refund.status,
            amount=amount.amount,
            currency=str(amount.currency),
        )
        if created:
            escrow_event_record(escrow, EscrowEvent.Kind.PAYMENT_RETURNED, amount=amount.amount, reason=reason)


def escrows_payment_reconcile(*, quiet_for: timedelta = timedelta(minutes=10)) -> int:
    """Fund escrows whose payment succeeded but whose webhook never came (lost, or an endpoint
    that was down past the processor's retries): every escrow still awaiting payment with a
    checkout opened in the last two days and quiet for ``quiet_for`` is checked against its
    payment. Run by beat; the expiry sweeper does the same check before it cancels. Returns how
    many it funded."""
    funded = 0
    now = timezone.now()
    waiting = Escrow.objects.filter(
        status=Escrow.Status.AWAITING_PAYMENT,
        updated_at__lte=now - quiet_for,
        updated_at__gte=now - timedelta(days=2),  # older ones: the expiry sweeper checks them
        payment__isnull=False,
    ).select_related("payment")
    for escrow in waiting:
        try:
            payment = escrow_processor(escrow).payment_retrieve(escrow.payment.reference)
            if payment.status == PaymentStatus.SUCCEEDED:
                escrow = escrow_fund_with(payment)
                funded += escrow is not None and escrow.status == Escrow.Status.FUNDED
        except ApplicationError as exc:
            logger.warning("Escrow %s: payment not checked: %s", escrow.pk, exc)
    return funded
