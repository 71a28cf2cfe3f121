"""Delivery and the review window: the escrow releases itself when the window ends with no objection.

A task may have several escrows (milestones, or a new offer after an unpaid one expired): the
functions here act on every escrow of the task that holds money, and lock them in id order.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from payments.escrow.transitions import escrow_event_record, escrow_lock
from payments.models import Escrow, EscrowEvent


def escrows_for_task(*, task_id: int) -> list[Escrow]:
    """The task's escrows that are not history (a cancelled one is), oldest first."""
    return list(Escrow.objects.filter(task_id=task_id).exclude(status=Escrow.Status.CANCELLED).order_by("id"))


def escrows_lock_for_task(*, task_id: int) -> list[Escrow]:
    """Lock the task's current escrows, in id order. Services that change a task and its escrows
    call this before locking the task (lock order: escrows, then task)."""
    return [escrow_lock(escrow.pk) for escrow in escrows_for_task(task_id=task_id)]


def escrows_delivery_record(*, task_id: int, actor: User) -> list[Escrow]:
    """The tasker delivered: the review window of each funded escrow starts; each releases itself
    when it ends. Call with the escrows locked (``escrows_lock_for_task``)."""
    started = []
    for escrow in escrows_lock_for_task(task_id=task_id):
        if escrow.status != Escrow.Status.FUNDED:
            continue
        escrow.release_due_at = timezone.now() + escrow.review_window
        escrow.save(update_fields=["release_due_at", "updated_at"])
        escrow_event_record(
            escrow,
            EscrowEvent.Kind.DELIVERED,
            actor=actor,
            reason=f"Releases automatically on {escrow.release_due_at:%Y-%m-%d %H:%M} UTC",
        )
        started.append(escrow)
    return started


def escrows_changes_requested_record(*, task_id: int, actor: User, reason: str) -> list[Escrow]:
    """The client asked for changes: the review windows stop until the next delivery."""
    stopped = []
    for escrow in escrows_lock_for_task(task_id=task_id):
        if escrow.status != Escrow.Status.FUNDED:
            continue
        escrow.release_due_at = None
        escrow.save(update_fields=["release_due_at", "updated_at"])
        escrow_event_record(escrow, EscrowEvent.Kind.CHANGES_REQUESTED, actor=actor, reason=reason)
        stopped.append(escrow)
    return stopped


def escrows_flag_stale(*, now: datetime | None = None) -> int:
    """Flag to Support escrows funded longer than ``ESCROW_STALE_AFTER`` with no delivery."""
    now = now or timezone.now()
    flagged = 0
    stale = Escrow.objects.filter(
        status=Escrow.Status.FUNDED,
        funded_at__lte=now - settings.ESCROW_STALE_AFTER,
        release_due_at__isnull=True,
        stale_flagged_at__isnull=True,
    )
    for escrow in stale:
        with transaction.atomic():
            escrow = escrow_lock(escrow.pk)
            if escrow.stale_flagged_at is None:
                escrow.stale_flagged_at = now
                escrow.save(update_fields=["stale_flagged_at", "updated_at"])
                escrow_event_record(
                    escrow, EscrowEvent.Kind.STALE_FLAGGED, reason="Funded for a long time with no delivery"
                )
                flagged += 1
    return flagged
