"""Refunds to the client: reserved in the ledger, asked of the processor, settled as it says.

A refund is *reserved* first (``escrow_refund_reserve``: the money leaves the escrow's ledger
account and an ``EscrowRefund`` row is pending), so a release running at the same moment can never
pay out the same money. Then the processor is asked, with an idempotency key from the refund's id
(``escrow_refund_execute``). Its answer settles the refund: succeeded (``escrow_refund_complete``),
refused or failed (``escrow_refund_fail``: the reservation is reversed, visibly), or not known yet
(no answer, or "pending"): the refund stays pending until the processor's refund event or the
beat job ``escrow_refunds_settle`` learns the outcome. One refund per escrow is in flight at a time.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from moneyed import Money

from accounts.models import User
from core import events
from core.errors import ApplicationError, ValidationError
from core.money import parse_amount
from payments import topups
from payments.escrow.errors import EscrowError
from payments.escrow.ledger import post_between_source_and_escrow
from payments.escrow.transitions import escrow_event_record, escrow_lock, escrow_transition
from payments.events import EscrowRefunded
from payments.models import Escrow, EscrowEvent, EscrowRefund, WalletTopUp
from processors import registry
from processors.interface import (
    EventKind,
    PaymentError,
    PaymentProviderUnavailable,
    ProcessorEvent,
    Refund,
    RefundStatus,
)
from processors.keys import idempotency_key
from processors.models import ProcessorTransaction
from processors.services import transaction_record
from wallets.models import JournalEntry

logger = logging.getLogger(__name__)

HOLDING = (Escrow.Status.FUNDED, Escrow.Status.DISPUTED)


def escrow_refund(
    *,
    escrow: Escrow,
    amount: Decimal | None,
    actor: User | None,
    reason: str,
    undelivered_only: bool = False,
    for_ruling: bool = False,
) -> EscrowRefund:
    """Refund the client, in full (``amount=None``) or in part, through the processor and the ledger.

    For Finance (admin), for a client cancelling before delivery, and for rulings. The refund row
    is created first and its id keys both the processor's refund and the ledger entry, so a retry
    refunds once. A full refund ends the escrow (``refunded``; the task follows); after a partial
    one the escrow stays funded and a later release pays the tasker on what is left (see
    ``payments.fees.release_split`` for how the fees are unwound).
    """
    if not reason.strip():
        raise ValidationError("Give a reason for the refund.", code="reason_required")
    refund = escrow_refund_reserve(
        escrow=escrow,
        amount=amount,
        actor=actor,
        reason=reason,
        undelivered_only=undelivered_only,
        for_ruling=for_ruling,
    )
    return escrow_refund_execute(refund)


@transaction.atomic
def escrow_refund_reserve(
    *,
    escrow: Escrow,
    amount: Decimal | None,
    actor: User | None,
    reason: str,
    undelivered_only: bool = False,
    processor_reference: str = "",
    for_ruling: bool = False,
) -> EscrowRefund:
    """Take the refund out of the escrow in the ledger and record it as pending, before the
    processor is asked.

    One refund at a time: the outcome of each (full or not) is then known when it settles.
    ``undelivered_only`` (a client cancelling) refuses once the work is delivered, checked under
    the lock. A cancelled escrow that was paid late still holds that payment, and can be refunded.
    """
    escrow = escrow_lock(escrow.pk)
    holding = escrow.status in HOLDING or (escrow.status == Escrow.Status.CANCELLED and escrow.funded_at is not None)
    if not holding:
        raise EscrowError(
            "Only an escrow holding the client's payment can be refunded.",
            code="escrow_not_funded" if escrow.status == Escrow.Status.AWAITING_PAYMENT else "escrow_not_refundable",
        )
    if escrow.status == Escrow.Status.DISPUTED and not (for_ruling or processor_reference):
        # Held for a dispute or a chargeback: only a ruling refunds it (holds.escrow_rule); a refund
        # made outside Holdfast (processor_reference) is still taken in, since it has happened.
        raise EscrowError("This escrow is held for a dispute: it is refunded only by a ruling.", code="escrow_disputed")
    if escrow.refunds.filter(status=EscrowRefund.Status.PENDING).exists():
        raise EscrowError("A refund is being processed; try again in a moment.", code="refund_in_progress")
    if undelivered_only and escrow.release_due_at is not None:
        raise EscrowError("The work was delivered: approve it or ask for changes instead.", code="escrow_delivered")
    held = escrow.client_total - escrow.refunded_amount
    amount = held if amount is None else parse_amount(amount, escrow.currency)
    if amount <= 0:
        raise ValidationError("The refund must be more than zero.", code="amount_not_positive")
    if amount > held:
        raise ValidationError(
            f"At most {held} {escrow.currency} can be refunded from this escrow.",
            code="refund_exceeds_held",
            details={"held": str(held)},
        )
    refund = EscrowRefund.objects.create(
        escrow=escrow,
        amount=amount,
        reason=reason[:500] or "Refund",
        actor=actor,
        processor_reference=processor_reference,
        for_ruling=for_ruling,
    )
    post_between_source_and_escrow(  # a wallet payment's refund is back in the wallet now
        escrow=escrow,
        amount=amount,
        into_escrow=False,
        key=f"escrow-refund:{refund.pk}",
        kind=JournalEntry.Kind.ESCROW_REFUND,
        actor=actor,
        memo=reason,
    )
    escrow.refunded_amount += amount
    escrow.save(update_fields=["refunded_amount", "updated_at"])
    return refund


def escrow_refund_execute(refund: EscrowRefund) -> EscrowRefund:
    """Ask the processor for the reserved refund (same idempotency key on every try) and settle it.
    An escrow paid from the wallet has its refund in the wallet already: it completes at once."""
    escrow = Escrow.objects.select_related("payment").get(pk=refund.escrow_id)
    if escrow.funding_source == Escrow.FundingSource.WALLET:
        return escrow_refund_complete(refund=refund, processor_reference="")
    processor = registry.processor(escrow.payment.processor)
    try:
        answer = processor.refund_create(
            payment_reference=escrow.payment.reference,
            amount=Money(refund.amount, escrow.currency),
            key=idempotency_key("escrow-refund", refund.pk),
            metadata={"escrow_id": str(escrow.pk), "escrow_refund_id": str(refund.pk)},
        )
    except PaymentProviderUnavailable:
        # No answer: the processor may or may not have made it. The refund stays pending, and keeps
        # the money out of any release, until escrow_refunds_settle learns the outcome.
        logger.warning("Refund %s of escrow %s: no answer from the processor; settled later", refund.pk, escrow.pk)
        raise PaymentProviderUnavailable(
            "The payment service did not answer. The refund is recorded and will be completed automatically.",
            code="refund_pending",
        )
    except PaymentError as exc:
        escrow_refund_fail(refund=refund, message=exc.message)
        raise
    return _refund_settle(refund=refund, answer=answer)


def _refund_settle(*, refund: EscrowRefund, answer: Refund, event_id: str = "") -> EscrowRefund:
    """Record what the processor says of a refund: succeeded, failed (money back in the escrow) or not yet."""
    at = registry.processor(answer.processor).display_name
    _refund_answer_record(refund=refund, answer=answer, event_id=event_id)
    if answer.status == RefundStatus.SUCCEEDED:
        return escrow_refund_complete(refund=refund, processor_reference=answer.reference)
    if answer.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
        reason = answer.failure_reason or answer.status
        escrow_refund_fail(refund=refund, message=f"{at} reports the refund {answer.status} ({reason}).")
    else:  # pending, requires_action: the processor's later word settles it
        EscrowRefund.objects.filter(pk=refund.pk, status=EscrowRefund.Status.PENDING).update(
            processor_reference=answer.reference
        )
    refund.refresh_from_db()
    return refund


def _refund_answer_record(*, refund: EscrowRefund, answer: Refund, event_id: str) -> None:
    transaction_record(
        subject=refund.escrow,
        processor=answer.processor,
        kind=ProcessorTransaction.Kind.REFUND,
        reference=answer.reference,
        idempotency_key=f"{answer.processor}:refund:{answer.reference}:{answer.status}",
        charge_reference=answer.charge_reference,
        status=answer.status,
        amount=answer.amount.amount,
        currency=str(answer.amount.currency),
        failure_message=answer.failure_reason,
        event_id=event_id,
    )


@transaction.atomic
def escrow_refund_complete(*, refund: EscrowRefund, processor_reference: str) -> EscrowRefund:
    """The processor made the refund: it is final. Nothing held any more ends the escrow (refunded)."""
    escrow = escrow_lock(refund.escrow_id)
    refund = EscrowRefund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != EscrowRefund.Status.PENDING:
        return refund  # settled already (a failed one's money is back in the escrow)
    refund.status = EscrowRefund.Status.SUCCEEDED
    refund.processor_reference = processor_reference
    refund.completed_at = timezone.now()
    refund.save()
    full = escrow.refunded_amount >= escrow.client_total
    if full and escrow.status in HOLDING:
        refunded = EscrowRefunded(
            escrow_id=escrow.pk, task_id=escrow.task_id, amount=refund.amount, full=True, refund_id=refund.pk
        )
        escrow_transition(
            escrow=escrow,
            to=Escrow.Status.REFUNDED,
            kind=EscrowEvent.Kind.REFUNDED,
            actor=refund.actor,
            amount=refund.amount,
            reason=refund.reason,
            fields={"refunded_at": refund.completed_at, "release_due_at": None},
            event=refunded,
        )
    else:  # partial, or a late payment of a cancelled escrow given back: the status stays
        kind = EscrowEvent.Kind.REFUNDED if full else EscrowEvent.Kind.PARTIALLY_REFUNDED
        escrow_event_record(
            escrow,
            kind,
            actor=refund.actor,
            amount=refund.amount,
            reason=refund.reason,
            from_status=escrow.status,
            to_status=escrow.status,
        )
        events.publish(
            EscrowRefunded(
                escrow_id=escrow.pk, task_id=escrow.task_id, amount=refund.amount, full=False, refund_id=refund.pk
            )
        )
    return refund


@transaction.atomic
def escrow_refund_fail(*, refund: EscrowRefund, message: str) -> None:
    """The processor refused the refund, or reports it failed: put the money back into the escrow, visibly."""
    escrow = escrow_lock(refund.escrow_id)
    refund = EscrowRefund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != EscrowRefund.Status.PENDING:
        return
    post_between_source_and_escrow(
        escrow=escrow,
        amount=refund.amount,
        into_escrow=True,
        key=f"escrow-refund:{refund.pk}:reversal",
        kind=JournalEntry.Kind.ESCROW_REFUND,
        actor=None,
        memo=f"Refund failed: {message}",
    )
    escrow.refunded_amount -= refund.amount
    escrow.save(update_fields=["refunded_amount", "updated_at"])
    refund.status = EscrowRefund.Status.FAILED
    refund.failure_message = message[:500]
    refund.completed_at = timezone.now()
    refund.save()


@registry.event_handler(EventKind.CHARGE_REFUNDS_CHANGED)
def escrow_refunds_from_event(event: ProcessorEvent) -> int:
    # A charge is an escrow's or a wallet top-up's (whose refunds are withdrawals to its card).
    if WalletTopUp.objects.filter(payment__charge_reference=event.reference).exists():
        return topups.withdrawals_settle_for_charge(
            charge_reference=event.reference, processor=event.processor, event_id=event.event_id
        )
    return escrow_refunds_settle_for_charge(
        charge_reference=event.reference, processor=event.processor, event_id=event.event_id
    )


def escrow_refunds_settle_for_charge(*, charge_reference: str, processor: str | None = None, event_id: str = "") -> int:
    """Bring the escrow in line with the refunds of its charge, re-read from the processor.

    Holdfast's own pending refunds of this charge are settled first; then a refund made outside
    Holdfast (in the Stripe Dashboard) is taken into the escrow and the ledger like any refund, so
    a later release cannot pay out money that went back to the client. Returns how many were
    settled or taken in.
    """
    answers = registry.processor(processor).refunds_for_charge(charge_reference)
    settled = 0
    for answer in answers:
        refund_id = answer.metadata.get("escrow_refund_id")
        refund = (
            EscrowRefund.objects.filter(pk=refund_id, escrow__payment__charge_reference=charge_reference).first()
            if refund_id and str(refund_id).isdigit()
            else None
        )
        if refund is not None and refund.status == EscrowRefund.Status.PENDING:
            refund = _refund_settle(refund=refund, answer=answer, event_id=event_id)
            settled += refund.status != EscrowRefund.Status.PENDING
        elif refund is not None and refund.status == EscrowRefund.Status.SUCCEEDED and answer.status == "failed":
            escrow_needs_attention(
                refund.escrow,
                f"{registry.processor(answer.processor).display_name} now reports refund {answer.reference} failed; "
                "Holdfast booked it as made",
                amount=refund.amount,
            )
    for answer in answers:
        if not answer.metadata.get("escrow_refund_id"):
            settled += _refund_adopt(charge_reference=charge_reference, answer=answer)
    return settled


def _refund_adopt(*, charge_reference: str, answer: Refund) -> bool:
    """Record a succeeded refund Holdfast did not ask for, in one transaction (found, reserved and
    completed under the escrow's lock, so it is taken in once). Whether it was taken in now."""
    escrow = Escrow.objects.filter(payment__charge_reference=charge_reference).first()
    if escrow is None or answer.status != RefundStatus.SUCCEEDED:
        return False
    at = registry.processor(answer.processor).display_name
    try:
        with transaction.atomic():
            escrow_lock(escrow.pk)
            if EscrowRefund.objects.filter(processor_reference=answer.reference).exists():
                return False
            refund = escrow_refund_reserve(
                escrow=escrow,
                amount=answer.amount.amount,
                actor=None,
                reason=f"Refunded at {at} ({answer.reference})",
                processor_reference=answer.reference,
            )
            _refund_answer_record(refund=refund, answer=answer, event_id="")
            escrow_refund_complete(refund=refund, processor_reference=answer.reference)
    except ApplicationError as exc:
        if exc.code == "refund_in_progress":
            return False  # taken in once ours settles: the settle job and the next event try again
        logger.error("Refund %s made outside Holdfast for escrow %s not taken in: %s", answer.reference, escrow.pk, exc)
        escrow_needs_attention(
            escrow,
            f"Refunded at {at} outside Holdfast, not matched: {exc.message} ({answer.reference})",
            answer.amount.amount,
        )
        return False
    return True


def escrow_needs_attention(escrow: Escrow, note: str, amount: Decimal | None = None) -> None:
    """Put something only a person can sort out on the escrow's timeline, once."""
    with transaction.atomic():
        locked = escrow_lock(escrow.pk)
        if not locked.events.filter(kind=EscrowEvent.Kind.NEEDS_ATTENTION, reason=note[:500]).exists():
            escrow_event_record(locked, EscrowEvent.Kind.NEEDS_ATTENTION, amount=amount, reason=note)


def escrow_refunds_settle(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Settle refunds still pending a while after they were asked for (the processor did not
    answer, or answered "pending"). For each charge concerned, the processor's refunds are read
    back and settled (and any made outside Holdfast taken in); a refund of ours the processor never
    received is asked for again with the same idempotency key, and the charge read back once more.
    Run by beat. Returns how many refunds were settled or taken in."""
    pending = EscrowRefund.objects.filter(
        status=EscrowRefund.Status.PENDING, created_at__lte=timezone.now() - older_than
    ).select_related("escrow__payment")
    settled = 0
    for refund in pending:  # refunds to the wallet: the money is there; only the record waits
        if refund.escrow.funding_source == Escrow.FundingSource.WALLET:
            settled += escrow_refund_execute(refund).status != EscrowRefund.Status.PENDING
    charges = {(r.escrow.payment.charge_reference, r.escrow.payment.processor) for r in pending if r.escrow.payment}
    for charge_reference, processor in sorted(c for c in charges if c[0]):
        try:
            settled += escrow_refunds_settle_for_charge(charge_reference=charge_reference, processor=processor)
            never_made = EscrowRefund.objects.filter(
                escrow__payment__charge_reference=charge_reference,
                status=EscrowRefund.Status.PENDING,
                processor_reference="",
            )
            for refund in never_made:
                try:
                    settled += escrow_refund_execute(refund).status != EscrowRefund.Status.PENDING  # same key
                except ApplicationError as exc:
                    logger.warning("Refund %s: %s", refund.pk, exc)
                    refund.refresh_from_db()
                    settled += refund.status != EscrowRefund.Status.PENDING
            if never_made:  # asked again: read the charge back, to take in what waited on them
                settled += escrow_refunds_settle_for_charge(charge_reference=charge_reference, processor=processor)
        except ApplicationError as exc:
            logger.warning("Refunds of charge %s not settled yet: %s", charge_reference, exc)
    return settled
