"""The task follows its escrows: in-transaction subscribers to the payments app's domain events.

They run inside the escrow's transaction, with the escrow row already locked (lock order: escrow,
then task), so a task and its escrow move together or not at all. They open no savepoint of their
own: an error aborts the publisher's transaction, which is what it wants. A late or stale event (a
task already there, or in a state the event does not move) leaves the task as it is.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from core.events import subscriber
from marketplace.models import Offer, Task, TaskEvent
from payments.events import EscrowCancelled, EscrowFunded, EscrowRefunded, EscrowReleased

# One statement instead of lock, check, update and event insert: the review-window sweeper
# completes thousands of tasks in a row (see escrow_release and bench/escrow_bench.py). With
# ``open_escrows_block`` the task moves only once none of its other escrows still awaits payment
# or holds money (a task with several escrows completes with its last one).
FOLLOW_SQL = """
WITH current AS (
    SELECT id, status FROM marketplace_task WHERE id = %(task)s FOR UPDATE
), moved AS (
    UPDATE marketplace_task AS task
       SET status = %(to)s, {timestamp} = %(now)s, updated_at = %(now)s
      FROM current
     WHERE task.id = current.id AND current.status = ANY(%(allowed_from)s)
       AND NOT (%(open_escrows_block)s AND EXISTS (
               SELECT 1 FROM payments_escrow e
                WHERE e.task_id = current.id AND e.status IN ('awaiting_payment', 'funded', 'disputed')))
 RETURNING task.id, current.status AS from_status
)
INSERT INTO marketplace_taskevent (task_id, offer_id, actor_id, from_status, to_status, reason, created_at)
SELECT id, NULL, NULL, from_status, %(to)s, %(reason)s, %(now)s FROM moved
"""
FOLLOW_TIMESTAMPS = {"started_at", "completed_at", "cancelled_at"}


def _task_follow_escrow(
    *,
    task_id: int,
    to: str,
    allowed_from: tuple[str, ...],
    timestamp_field: str,
    reason: str,
    open_escrows_block: bool = False,
) -> bool:
    """Move the task to ``to`` if it is in one of ``allowed_from``, with its event; whether it moved."""
    if timestamp_field not in FOLLOW_TIMESTAMPS:
        raise ValueError(f"{timestamp_field} is not a task timestamp")
    sql = FOLLOW_SQL.format(timestamp=connection.ops.quote_name(timestamp_field))
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "task": task_id,
                "to": to,
                "allowed_from": list(allowed_from),
                "now": timezone.now(),
                "reason": reason,
                "open_escrows_block": open_escrows_block,
            },
        )
        return cursor.rowcount == 1


@subscriber(EscrowFunded)
def task_funded(event: EscrowFunded) -> bool:
    """The client's payment is held in escrow: assigned → in progress."""
    return _task_follow_escrow(
        task_id=event.task_id,
        to=Task.Status.IN_PROGRESS,
        allowed_from=(Task.Status.ASSIGNED,),
        timestamp_field="started_at",
        reason="Payment held in escrow",
    )


@subscriber(EscrowReleased)
def task_released(event: EscrowReleased) -> bool:
    """The escrow was released to the tasker: the task is completed (with its last open escrow)."""
    return _task_follow_escrow(
        task_id=event.task_id,
        to=Task.Status.COMPLETED,
        allowed_from=(Task.Status.IN_PROGRESS, Task.Status.DELIVERED),
        timestamp_field="completed_at",
        reason="Payment released to the tasker",
        open_escrows_block=True,
    )


@subscriber(EscrowRefunded)
def task_refunded(event: EscrowRefunded) -> bool:
    """The client was refunded in full: the task is cancelled (with its last open escrow)."""
    if not event.full:
        return False
    return _task_follow_escrow(
        task_id=event.task_id,
        to=Task.Status.CANCELLED,
        allowed_from=(Task.Status.ASSIGNED, Task.Status.IN_PROGRESS, Task.Status.DELIVERED),
        timestamp_field="cancelled_at",
        reason="Payment refunded to the client",
        open_escrows_block=True,
    )


@subscriber(EscrowCancelled)
def task_payment_expired(event: EscrowCancelled) -> bool:
    """The accepted offer was never paid for: the task reopens for offers. Whether it reopened."""
    if not event.expired:
        return False  # the client cancelled: marketplace's task_cancel closes the task itself
    task = Task.objects.select_for_update().get(pk=event.task_id)
    if task.status != Task.Status.ASSIGNED or task.accepted_offer_id != event.offer_id:
        return False  # moved on, or assigned through another offer (a later escrow) meanwhile
    offer = task.accepted_offer
    if offer is not None:
        now = timezone.now()
        Offer.objects.filter(pk=offer.pk).update(status=Offer.Status.REJECTED, rejected_at=now, updated_at=now)
        TaskEvent.objects.create(
            task=task,
            offer=offer,
            from_status=Offer.Status.ACCEPTED,
            to_status=Offer.Status.REJECTED,
            reason="The payment was not made in time",
        )
    task.accepted_offer = None
    task.status = Task.Status.OPEN
    task.assigned_at = None
    task.save(update_fields=["status", "accepted_offer", "assigned_at", "updated_at"])
    TaskEvent.objects.create(
        task=task,
        from_status=Task.Status.ASSIGNED,
        to_status=Task.Status.OPEN,
        reason="Payment not made in time: open for offers again",
    )
    return True
