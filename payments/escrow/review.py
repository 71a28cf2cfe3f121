"""Delivery and the review window: the escrow releases itself when the window ends with no objection.

A task may have several escrows (milestones, or a new offer after an unpaid one expired): the
functions here act on every escrow of the task that holds money, and lock them in id order.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from core import events, sql
from payments.escrow.transitions import escrow_event_record, escrow_lock
from payments.events import EscrowChangesRequested, EscrowDelivered
from payments.models import Escrow, EscrowEvent


def escrows_for_task(*, task_id: int) -> list[Escrow]:
    """The task's escrows that are not history (a cancelled one is), oldest first."""
    return list(Escrow.objects.filter(task_id=task_id).exclude(status=Escrow.Status.CANCELLED).order_by("id"))


# One statement for all of them, in id order (PostgreSQL re-checks the condition on each row it
# had to wait for, so an escrow cancelled meanwhile is left out).
LOCK_FOR_TASK_SQL = (
    f"SELECT {sql.columns(Escrow)} FROM payments_escrow WHERE task_id = %s AND status <> %s ORDER BY id FOR UPDATE"
)


def escrows_lock_for_task(*, task_id: int) -> list[Escrow]:
    """Lock the task's current escrows, in id order. Services that change a task and its escrows
    call this before locking the task (lock order: escrows, then task)."""
    if not connection.in_atomic_block:
        raise RuntimeError("escrows_lock_for_task() needs a transaction: the locks would end with the statement")
    return sql.fetch(Escrow, LOCK_FOR_TASK_SQL, [task_id, Escrow.Status.CANCELLED])


def escrows_delivery_record(*, escrows: list[Escrow], actor: User) -> list[Escrow]:
    """The tasker delivered: the review window of each funded escrow starts; each releases itself
    when it ends. ``escrows``: the task's, as ``escrows_lock_for_task`` locked them."""
    started = []
    for escrow in escrows:
        if escrow.status != Escrow.Status.FUNDED:
            continue
        escrow.release_due_at = timezone.now() + escrow.review_window
        escrow.save(update_fields=["release_due_at", "updated_at"])
        record = escrow_event_record(
            escrow,
            EscrowEvent.Kind.DELIVERED,
            actor=actor,
            reason=f"Releases automatically on {escrow.release_due_at:%Y-%m-%d %H:%M} UTC",
        )
        events.publish(EscrowDelivered(escrow_id=escrow.pk, task_id=escrow.task_id, record_id=record.pk))
        started.append(escrow)
    return started


def escrows_changes_requested_record(*, escrows: list[Escrow], actor: User, reason: str) -> list[Escrow]:
    """The client asked for changes: the review windows stop until the next delivery. ``escrows``:
    the task's, as ``escrows_lock_for_task`` locked them."""
    stopped = []
    for escrow in escrows:
        if escrow.status != Escrow.Status.FUNDED:
            continue
        escrow.release_due_at = None
        escrow.save(update_fields=["release_due_at", "updated_at"])
        record = escrow_event_record(escrow, EscrowEvent.Kind.CHANGES_REQUESTED, actor=actor, reason=reason)
        events.publish(
            EscrowChangesRequested(escrow_id=escrow.pk, task_id=escrow.task_id, record_id=record.pk, reason=reason)
        )
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
