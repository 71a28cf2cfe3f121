"""Cancelling an escrow: an unpaid one is closed, a funded one before delivery is refunded in full."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from payments.escrow.errors import EscrowError, require_party
from payments.escrow.funding import escrow_fund_with, escrow_processor
from payments.escrow.holds import escrow_cancel_request_handler
from payments.escrow.refunds import escrow_refund
from payments.escrow.transitions import escrow_lock, escrow_transition
from payments.events import EscrowCancelled
from payments.models import Escrow, EscrowEvent
from processors.interface import PaymentStatus
from processors.keys import idempotency_key

logger = logging.getLogger(__name__)


def escrow_cancel(
    *, escrow: Escrow, actor: User | None, reason: str, unpaid_only: bool = False, expired: bool = False
) -> Escrow:
    """Cancel: an unpaid escrow is closed (its payment cancelled at the processor); a funded one
    before delivery is refunded in full — or, when a client asks and a cancellation-request handler
    is registered (``holds.escrow_cancel_request_register``: disputes), held until the tasker agrees.
    Only the client (or the system, ``actor=None``).
    ``unpaid_only`` (the expiry sweeper) leaves an escrow that has been paid meanwhile as it is;
    ``expired`` says so in the published ``EscrowCancelled`` (its task reopens for offers)."""
    if actor is not None:
        require_party(escrow, actor, client_only=True)
    escrow.refresh_from_db()
    if escrow.status == Escrow.Status.CANCELLED or (unpaid_only and escrow.status != Escrow.Status.AWAITING_PAYMENT):
        return escrow
    request = escrow_cancel_request_handler()
    if escrow.status in (Escrow.Status.FUNDED, Escrow.Status.DISPUTED) and actor is not None and request:
        return request(escrow=escrow, actor=actor, reason=reason)  # work has started: the tasker is asked
    if escrow.status == Escrow.Status.FUNDED:
        escrow_refund(
            escrow=escrow,
            amount=None,
            actor=actor,
            reason=reason or "Cancelled by the client before delivery",
            undelivered_only=True,
        )
        escrow.refresh_from_db()
        return escrow
    if escrow.status != Escrow.Status.AWAITING_PAYMENT:
        raise EscrowError(
            f"This escrow is {escrow.get_status_display().lower()} and cannot be cancelled.",
            code="escrow_not_cancellable",
        )
    if escrow.payment_id:
        processor = escrow_processor(escrow)
        payment = processor.payment_retrieve(escrow.payment.reference)
        if payment.status == PaymentStatus.SUCCEEDED:
            funded = escrow_fund_with(payment)
            if funded is not None and funded.status == Escrow.Status.FUNDED:
                raise EscrowError(
                    "The payment has just gone through, so the escrow is funded. Cancel again to get a full refund.",
                    code="escrow_just_funded",
                )
        elif payment.status != PaymentStatus.CANCELED:
            processor.payment_cancel(
                payment.reference, key=idempotency_key("escrow", escrow.pk, "cancel", payment.reference)
            )
    with transaction.atomic():
        escrow = escrow_lock(escrow.pk)
        if escrow.status != Escrow.Status.AWAITING_PAYMENT:
            return escrow
        now = timezone.now()
        return escrow_transition(
            escrow=escrow,
            to=Escrow.Status.CANCELLED,
            kind=EscrowEvent.Kind.CANCELLED,
            actor=actor,
            reason=reason,
            fields={"cancelled_at": now},
            event=EscrowCancelled(
                escrow_id=escrow.pk, task_id=escrow.task_id, offer_id=escrow.offer_id, expired=expired
            ),
            now=now,
        )


def escrows_expire_unfunded(*, now: datetime | None = None) -> int:
    """Cancel escrows still unpaid after ``ESCROW_PAYMENT_EXPIRY``; their tasks reopen for offers
    (marketplace follows ``EscrowCancelled(expired=True)`` in the same transaction)."""
    now = now or timezone.now()
    expired = 0
    for escrow in Escrow.objects.filter(
        status=Escrow.Status.AWAITING_PAYMENT, created_at__lte=now - settings.ESCROW_PAYMENT_EXPIRY
    ):
        try:
            escrow = escrow_cancel(escrow=escrow, actor=None, reason="Not paid in time", unpaid_only=True, expired=True)
            expired += escrow.status == Escrow.Status.CANCELLED  # else paid meanwhile
        except ApplicationError as exc:
            logger.info("Escrow %s not expired: %s", escrow.pk, exc)
    return expired
