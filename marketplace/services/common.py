"""What the task and offer services share: locks, checks, events, text rules."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import Profile, User
from core.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from marketplace.models import Offer, Task, TaskEvent
from payments.escrow import escrows_lock_for_task
from payments.models import Escrow

TITLE_MAX_LENGTH = Task._meta.get_field("title").max_length
DESCRIPTION_MAX_LENGTH = Task._meta.get_field("description").max_length
MESSAGE_MAX_LENGTH = Offer._meta.get_field("message").max_length
REASON_MAX_LENGTH = TaskEvent._meta.get_field("reason").max_length


# --- helpers --------------------------------------------------------------------------------


def _event_record(
    *, task: Task, actor: User | None, from_status: str, to_status: str, reason: str = "", offer: Offer | None = None
) -> TaskEvent:
    return TaskEvent.objects.create(
        task=task, offer=offer, actor=actor, from_status=from_status, to_status=to_status, reason=reason
    )


def _clean_text(value: str | None, *, field: str, max_length: int, required: bool, label: str) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(f"Enter a {label}.", code=f"{field}_required", details={"field": field})
    if len(text) > max_length:
        raise ValidationError(
            f"The {label} can be at most {max_length} characters.", code=f"{field}_too_long", details={"field": field}
        )
    return text


def _clean_category(category: str) -> str:
    if category not in Task.Category.values:
        raise ValidationError(
            "Choose one of the listed categories.",
            code="category_invalid",
            details={"field": "category", "choices": list(Task.Category.values)},
        )
    return category


def _is_tasker(user: User) -> bool:
    return Profile.objects.filter(user=user, is_tasker=True).exists()


def _is_client(user: User) -> bool:
    # A user without a profile row yet gets the default profile, which is a client.
    return not Profile.objects.filter(user=user, is_client=False).exists()


def _require_task_client(*, task: Task, actor: User) -> None:
    if task.client_id != actor.pk:
        raise PermissionDenied("Only the client who posted this task can do that.", code="not_task_client")


def _require_assigned_tasker(*, task: Task, actor: User) -> None:
    if task.assigned_tasker_id != actor.pk:
        raise PermissionDenied("Only the tasker assigned to this task can do that.", code="not_assigned_tasker")


def _lock_task_and_escrows(task_id: int) -> tuple[Task, list[Escrow]]:
    """Lock the task's escrows, then the task: the one lock order (escrows, then task) that the
    escrow services and their subscribers follow too, so the two can never deadlock."""
    escrows = escrows_lock_for_task(task_id=task_id)
    return _lock_task(task_id), escrows


def _lock_task(task_id: int) -> Task:
    try:
        return Task.objects.select_for_update().get(pk=task_id)
    except Task.DoesNotExist:
        raise NotFound("This task does not exist.", code="task_not_found")


def _lock_offer(offer_id: int) -> Offer:
    try:
        return Offer.objects.select_for_update().get(pk=offer_id)
    except Offer.DoesNotExist:
        raise NotFound("This offer does not exist.", code="offer_not_found")


def _task_not_open(task: Task) -> Conflict:
    return Conflict(
        f"This task is {task.get_status_display().lower()}, so it no longer takes offers or changes.",
        code="task_not_open",
        details={"status": task.status},
    )


def _reject_pending_offers(*, task: Task, actor: User | None, reason: str, keep: Offer | None = None) -> int:
    pending = Offer.objects.select_for_update().filter(task=task, status=Offer.Status.PENDING)
    if keep is not None:
        pending = pending.exclude(pk=keep.pk)
    now = timezone.now()
    rejected = list(pending)
    for offer in rejected:
        _event_record(
            task=task,
            offer=offer,
            actor=actor,
            from_status=Offer.Status.PENDING,
            to_status=Offer.Status.REJECTED,
            reason=reason,
        )
    Offer.objects.filter(pk__in=[o.pk for o in rejected]).update(
        status=Offer.Status.REJECTED, rejected_at=now, updated_at=now
    )
    return len(rejected)


def _task_transition(
    *, task: Task, actor: User, to: str, allowed_from: tuple[str, ...], timestamp_field: str, reason: str = ""
) -> Task:
    """Move a locked task to ``to`` if it is in one of ``allowed_from``; record the event."""
    if task.status not in allowed_from:
        raise InvalidTransition(task, to=to)
    from_status = task.status
    now = timezone.now()
    task.status = to
    setattr(task, timestamp_field, now)
    task.save(update_fields=["status", timestamp_field, "updated_at"])
    _event_record(task=task, actor=actor, from_status=from_status, to_status=to, reason=reason)
    return task
