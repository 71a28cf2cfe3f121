"""Holds: what disputes and chargebacks call. Freeze an escrow, lift the hold, or rule on it.

A frozen escrow is ``disputed``: it holds its money, its review window is stopped (the sweeper
never sees it), and approve, cancel and the client's refunds are refused while the hold lasts
(they all require ``funded``). It leaves the hold by a ruling — release to the tasker, refund to
the client, or split between them — or by ``escrow_unfreeze`` (a dispute withdrawn), which puts
it back to funded with the review window restarted if the work had been delivered.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ValidationError
from core.money import parse_amount
from payments.escrow.errors import EscrowError
from payments.escrow.ledger import escrow_account
from payments.escrow.refunds import escrow_refund
from payments.escrow.release import escrow_release
from payments.escrow.transitions import escrow_event_record, escrow_lock, escrow_transition
from payments.events import EscrowFrozen, EscrowRefunded, EscrowUnfrozen
from payments.models import Escrow, EscrowEvent, EscrowRefund
from wallets.models import JournalEntry, LedgerAccount
from wallets.services import ledger_post, platform_account

# A client cancelling a funded escrow before delivery (the work has started) does not refund at once:
# the tasker is asked to agree. The disputes app (above payments) registers how that request is made.
CancelRequest = Callable[..., Escrow]
_cancel_request: list[CancelRequest] = []


def escrow_cancel_request_register(handler: CancelRequest) -> None:
    """Set who handles a client's cancellation of a funded escrow: ``handler(escrow=, actor=, reason=)``
    returns the escrow (held until the tasker agrees, or a ruling). Registering again replaces it."""
    _cancel_request[:] = [handler]


def escrow_cancel_request_handler() -> CancelRequest | None:
    return _cancel_request[0] if _cancel_request else None


class Ruling:
    RELEASE = "release"
    REFUND = "refund"
    SPLIT = "split"
    CHOICES = (RELEASE, REFUND, SPLIT)


@transaction.atomic
def escrow_freeze(*, escrow: Escrow, actor: User | None, reason: str) -> Escrow:
    """Hold a funded escrow for a dispute or a chargeback. Freezing a frozen escrow returns it as it is."""
    escrow = escrow_lock(escrow.pk)
    if escrow.status == Escrow.Status.DISPUTED:
        return escrow
    if escrow.status != Escrow.Status.FUNDED:
        raise EscrowError(
            f"This escrow is {escrow.get_status_display().lower()}: only money still held can be disputed.",
            code="escrow_not_disputable",
        )
    if escrow.refunds.filter(status=EscrowRefund.Status.PENDING).exists():
        raise EscrowError("A refund is being processed; try again in a moment.", code="refund_in_progress")
    return escrow_transition(
        escrow=escrow,
        to=Escrow.Status.DISPUTED,
        kind=EscrowEvent.Kind.DISPUTED,
        actor=actor,
        reason=reason,
        amount=escrow.client_total - escrow.refunded_amount,
        fields={"release_due_at": None},
        event=EscrowFrozen(escrow_id=escrow.pk, task_id=escrow.task_id, reason=reason),
    )


@transaction.atomic
def escrow_unfreeze(*, escrow: Escrow, actor: User | None, reason: str) -> Escrow:
    """Lift the hold without a ruling: back to funded. If the work had been delivered (the last
    review event is a delivery), its review window starts again in full."""
    escrow = escrow_lock(escrow.pk)
    if escrow.status == Escrow.Status.FUNDED:
        return escrow
    last_review = (
        escrow.events.filter(kind__in=[EscrowEvent.Kind.DELIVERED, EscrowEvent.Kind.CHANGES_REQUESTED])
        .order_by("-created_at", "-id")
        .values_list("kind", flat=True)
        .first()
    )
    due = timezone.now() + escrow.review_window if last_review == EscrowEvent.Kind.DELIVERED else None
    return escrow_transition(
        escrow=escrow,
        to=Escrow.Status.FUNDED,
        kind=EscrowEvent.Kind.UNFROZEN,
        actor=actor,
        reason=reason,
        fields={"release_due_at": due},
        event=EscrowUnfrozen(escrow_id=escrow.pk, task_id=escrow.task_id),
    )


def escrow_rule(
    *, escrow: Escrow, actor: User | None, outcome: str, reason: str, client_refund: Decimal | None = None
) -> Escrow:
    """Carry out a ruling on a frozen escrow.

    - ``release``: everything held goes to the tasker (net of commission);
    - ``refund``: everything held goes back to the client (through the processor);
    - ``split``: ``client_refund`` goes back to the client, the rest is released to the tasker
      with the commission shrunk in proportion (``payments.fees.release_split``); the escrow ends
      ``split``.

    Idempotent: a ruling carried out already returns the escrow. A split whose refund the processor
    has not confirmed yet raises ``refund_pending``; calling it again later finishes it (the
    refund made is not made twice).
    """
    if outcome not in Ruling.CHOICES:
        raise ValidationError("Rule release, refund or split.", code="ruling_invalid")
    if not reason.strip():
        raise ValidationError("Give the reason for the ruling.", code="reason_required")
    escrow.refresh_from_db()
    done = {
        Ruling.RELEASE: Escrow.Status.RELEASED,
        Ruling.REFUND: Escrow.Status.REFUNDED,
        Ruling.SPLIT: Escrow.Status.SPLIT,
    }
    if escrow.status == done[outcome]:
        return escrow
    if escrow.status != Escrow.Status.DISPUTED:
        raise EscrowError("Only a disputed escrow can be ruled on.", code="escrow_not_disputed")
    ruling = f"Ruling: {outcome}. {reason}"
    if outcome == Ruling.RELEASE:
        return escrow_release(escrow=escrow, actor=actor, reason=ruling, from_dispute=True)
    if outcome == Ruling.REFUND:
        escrow_refund(escrow=escrow, amount=None, actor=actor, reason=ruling, for_ruling=True)
        escrow.refresh_from_db()
        return escrow
    held = escrow.client_total - escrow.refunded_amount
    if client_refund is None:
        raise ValidationError("Say how much goes back to the client.", code="split_amount_required")
    client_refund = parse_amount(client_refund, escrow.currency, field="client_refund")
    ruling_refunds = escrow.refunds.filter(for_ruling=True)
    if ruling_refunds.filter(status=EscrowRefund.Status.PENDING).exists():
        raise EscrowError("The refund part of the split is not confirmed yet; rule again later.", code="refund_pending")
    if not ruling_refunds.filter(status=EscrowRefund.Status.SUCCEEDED).exists():
        if not Decimal("0") < client_refund < held:
            raise ValidationError(
                f"A split gives the client more than nothing and less than the {held} {escrow.currency} held.",
                code="split_amount_invalid",
                details={"held": str(held)},
            )
        refund = escrow_refund(escrow=escrow, amount=client_refund, actor=actor, reason=ruling, for_ruling=True)
        if refund.status != EscrowRefund.Status.SUCCEEDED:
            raise EscrowError(
                "The refund part of the split is not confirmed yet; rule again later.", code="refund_pending"
            )
    return escrow_release(escrow=escrow, actor=actor, reason=ruling, from_dispute=True, to=Escrow.Status.SPLIT)


def escrow_hold_note(
    *, escrow: Escrow, actor: User | None, note: str, amount: Decimal | None = None, chargeback: bool = False
) -> EscrowEvent:
    """Put a step of a dispute or a chargeback on the escrow's timeline (no status changes)."""
    kind = EscrowEvent.Kind.CHARGEBACK if chargeback else EscrowEvent.Kind.DISPUTE_STEP
    return escrow_event_record(
        escrow, kind, actor=actor, amount=amount, reason=note, from_status=escrow.status, to_status=escrow.status
    )


@transaction.atomic
def escrow_close_by_chargeback(*, escrow: Escrow, key: str, reason: str) -> Escrow:
    """The client's bank took the money back (a chargeback lost): what the escrow still holds covers
    the loss booked when the bank withdrew it (``chargeback_losses``), and the escrow ends refunded
    (by the bank, not through a refund of ours). Idempotent by ``key`` and by status."""
    escrow = escrow_lock(escrow.pk)
    if escrow.status == Escrow.Status.REFUNDED:
        return escrow
    if escrow.status not in (Escrow.Status.FUNDED, Escrow.Status.DISPUTED):
        raise EscrowError(
            f"This escrow is {escrow.get_status_display().lower()}: it holds nothing the bank could take.",
            code="escrow_not_holding",
        )
    if escrow.refunds.filter(status=EscrowRefund.Status.PENDING).exists():
        raise EscrowError("A refund is being processed; try again in a moment.", code="refund_in_progress")
    held = escrow.client_total - escrow.refunded_amount
    if held:
        ledger_post(
            idempotency_key=key,
            kind=JournalEntry.Kind.CHARGEBACK,
            reference=escrow,
            lines=[
                (escrow_account(escrow), -held),
                (platform_account(kind=LedgerAccount.Kind.CHARGEBACK_LOSSES, currency=escrow.currency), held),
            ],
            actor=None,
            memo=reason,
        )
    escrow.refunded_amount = escrow.client_total
    escrow.save(update_fields=["refunded_amount", "updated_at"])
    now = timezone.now()
    return escrow_transition(
        escrow=escrow,
        to=Escrow.Status.REFUNDED,
        kind=EscrowEvent.Kind.REFUNDED,
        actor=None,
        reason=reason,
        amount=held,
        fields={"refunded_at": now, "release_due_at": None},
        event=EscrowRefunded(escrow_id=escrow.pk, task_id=escrow.task_id, amount=held, full=True),
        now=now,
    )
