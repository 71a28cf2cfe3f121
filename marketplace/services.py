"""Every write in the marketplace: posting tasks, bidding, accepting, and moving a task along.

Each status change locks the row (``select_for_update``), re-checks the state, returns early if
the change already happened (so a double click or a retried request is harmless), and writes a
``TaskEvent``. Refusals are ``core.errors`` exceptions with stable codes and change nothing.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from accounts.models import Profile, User
from core.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from core.money import money, parse_amount, validate_currency
from marketplace.models import Offer, Task, TaskEvent
from payments.escrow import (
    escrow_amount_check,
    escrow_approve,
    escrow_cancel,
    escrow_create,
    escrows_changes_requested_record,
    escrows_delivery_record,
    escrows_for_task,
    escrows_lock_for_task,
)
from payments.models import Escrow, EscrowRefund

TITLE_MAX_LENGTH = Task._meta.get_field("title").max_length
DESCRIPTION_MAX_LENGTH = 5000
MESSAGE_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 2000


# --- helpers --------------------------------------------------------------------------------


def _event_record(
    *, task: Task, actor: User | None, from_status: str, to_status: str, reason: str = "", offer: Offer | None = None
) -> TaskEvent:
    return TaskEvent.objects.create(
        task=task, offer=offer, actor=actor, from_status=from_status, to_status=to_status, reason=reason
    )


def _full_clean(obj: Model, *, code: str, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except DjangoValidationError as exc:
        messages = [m for msgs in exc.message_dict.values() for m in msgs]
        raise ValidationError(" ".join(messages), code=code, details={"fields": exc.message_dict})


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


def _lock_task_and_escrows(task_id: int) -> Task:
    """Lock the task's escrows, then the task: the one lock order (escrows, then task) that the
    escrow services and their subscribers follow too, so the two can never deadlock."""
    escrows_lock_for_task(task_id=task_id)
    return _lock_task(task_id)


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


# --- tasks ----------------------------------------------------------------------------------


@transaction.atomic
def task_post(
    *,
    client: User,
    title: str,
    description: str,
    category: str,
    budget_amount: Decimal | str | int,
    budget_currency: str,
) -> Task:
    """Post a new open task. Any user whose profile is a client may call it.

    Each call creates a new task: calling it twice posts two tasks.
    """
    if not _is_client(client):
        raise PermissionDenied(
            "Only clients can post tasks. Turn on the client role in your profile.", code="not_a_client"
        )
    title = _clean_text(title, field="title", max_length=TITLE_MAX_LENGTH, required=True, label="title")
    description = _clean_text(
        description, field="description", max_length=DESCRIPTION_MAX_LENGTH, required=True, label="description"
    )
    category = _clean_category(category)
    currency = validate_currency(budget_currency, field="budget_currency")
    amount = parse_amount(budget_amount, currency, field="budget_amount")
    _budget_check(amount=amount, currency=currency)

    task = Task(client=client, title=title, description=description, category=category, budget=money(amount, currency))
    _full_clean(task, code="task_invalid", exclude=["accepted_offer"])
    task.save()
    _event_record(task=task, actor=client, from_status="", to_status=Task.Status.OPEN, reason="Task posted")
    return task


def _budget_check(*, amount: Decimal, currency: str) -> None:
    """A budget follows the escrow limits, as offers do: one rule for what can be agreed."""
    try:
        escrow_amount_check(amount=amount, currency=currency)
    except ValidationError as exc:
        if exc.code == "amount_below_minimum":
            message = f"The budget must be at least {settings.ESCROW_MIN_AMOUNT} {currency}, the smallest escrow."
        elif exc.code == "amount_above_maximum":
            message = f"The budget can be at most {settings.ESCROW_MAX_AMOUNT} {currency}, the largest escrow."
        else:
            raise
        raise ValidationError(
            message,
            code=exc.code,
            details={**exc.details, "field": "budget_amount"},
        ) from exc


@transaction.atomic
def task_update(
    *,
    task: Task,
    actor: User,
    title: str | None = None,
    description: str | None = None,
    category: str | None = None,
    budget_amount: Decimal | str | int | None = None,
    budget_currency: str | None = None,
) -> Task:
    """Edit an open task. Only its client may call it; fields left as ``None`` stay as they are.

    The currency cannot change while offers are pending, because offers are in the task's currency.
    Calling it twice with the same values leaves the task as after the first call.
    """
    task = _lock_task(task.pk)
    _require_task_client(task=task, actor=actor)
    if task.status != Task.Status.OPEN:
        raise _task_not_open(task)

    if title is not None:
        task.title = _clean_text(title, field="title", max_length=TITLE_MAX_LENGTH, required=True, label="title")
    if description is not None:
        task.description = _clean_text(
            description, field="description", max_length=DESCRIPTION_MAX_LENGTH, required=True, label="description"
        )
    if category is not None:
        task.category = _clean_category(category)
    if budget_amount is not None or budget_currency is not None:
        currency = validate_currency(budget_currency or task.currency, field="budget_currency")
        amount = parse_amount(
            budget_amount if budget_amount is not None else task.budget.amount, currency, field="budget_amount"
        )
        _budget_check(amount=amount, currency=currency)
        if currency != task.currency and task.offers.filter(status=Offer.Status.PENDING).exists():
            raise Conflict(
                "The currency cannot change while offers are pending: they were made in "
                f"{task.currency}. Reject them first.",
                code="currency_locked",
                details={"field": "budget_currency"},
            )
        task.budget = money(amount, currency)

    _full_clean(task, code="task_invalid", exclude=["accepted_offer"])
    task.save()
    return task


def task_cancel(*, task: Task, actor: User, reason: str = "") -> Task:
    """Cancel a task before the work is delivered. Only its client may call it.

    An open task is simply closed (pending offers rejected). An assigned task's unpaid escrow is
    cancelled; a paid one is refunded to the client in full. Once the work is delivered the
    client approves it, asks for changes or disputes it instead. Calling it on a task that is
    already cancelled returns it unchanged.
    """
    task = Task.objects.get(pk=task.pk)
    _require_task_client(task=task, actor=actor)
    if task.status == Task.Status.CANCELLED:
        return task
    reason = _clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH, required=False, label="reason")
    if task.status in (Task.Status.ASSIGNED, Task.Status.IN_PROGRESS, Task.Status.DELIVERED):
        refund_pending = False
        for escrow in escrows_for_task(task_id=task.pk):
            # The processor is called here, outside any lock; the escrow services lock what they change.
            escrow = escrow_cancel(escrow=escrow, actor=actor, reason=reason or "Cancelled by the client")
            refund_pending |= escrow.refunds.filter(status=EscrowRefund.Status.PENDING).exists()
        if refund_pending:
            return Task.objects.get(pk=task.pk)  # the refund is not confirmed: its confirmation cancels the task
    return _task_cancel_locked(task=task, actor=actor, reason=reason)


@transaction.atomic
def _task_cancel_locked(*, task: Task, actor: User, reason: str) -> Task:
    task = _lock_task(task.pk)
    if task.status == Task.Status.CANCELLED:
        return task
    _task_transition(
        task=task,
        actor=actor,
        to=Task.Status.CANCELLED,
        allowed_from=(Task.Status.OPEN, Task.Status.ASSIGNED),
        timestamp_field="cancelled_at",
        reason=reason,
    )
    _reject_pending_offers(task=task, actor=actor, reason="Task cancelled")
    return task


@transaction.atomic
def task_mark_delivered(*, task: Task, actor: User, note: str = "") -> Task:
    """The assigned tasker says the work is done: in progress → delivered.

    Only the assigned tasker may call it. Calling it again while delivered returns the task unchanged.
    The escrow's review window starts: with no objection it releases itself when the window ends.
    """
    task = _lock_task_and_escrows(task.pk)
    _require_assigned_tasker(task=task, actor=actor)
    if task.status == Task.Status.DELIVERED:
        return task
    note = _clean_text(note, field="note", max_length=REASON_MAX_LENGTH, required=False, label="note")
    task = _task_transition(
        task=task,
        actor=actor,
        to=Task.Status.DELIVERED,
        allowed_from=(Task.Status.IN_PROGRESS,),
        timestamp_field="delivered_at",
        reason=note,
    )
    escrows_delivery_record(task_id=task.pk, actor=actor)
    return task


@transaction.atomic
def task_request_changes(*, task: Task, actor: User, reason: str) -> Task:
    """The client sends delivered work back: delivered → in progress, with a reason the tasker sees.

    Only the client may call it. A repeat while the task is already back in progress returns it
    unchanged (no second event).
    """
    task = _lock_task_and_escrows(task.pk)
    _require_task_client(task=task, actor=actor)
    reason = _clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH, required=True, label="reason")
    if task.status == Task.Status.IN_PROGRESS:
        return task
    task = _task_transition(
        task=task,
        actor=actor,
        to=Task.Status.IN_PROGRESS,
        allowed_from=(Task.Status.DELIVERED,),
        timestamp_field="started_at",
        reason=reason,
    )
    escrows_changes_requested_record(task_id=task.pk, actor=actor, reason=reason)
    return task


def task_complete(*, task: Task, actor: User) -> Task:
    """The client approves delivered work: the escrow is released to the tasker and the task completed.

    Only the client may call it, once the work is delivered. Calling it on a completed task
    returns it unchanged (the release happens exactly once).
    """
    task = Task.objects.get(pk=task.pk)
    _require_task_client(task=task, actor=actor)
    if task.status == Task.Status.COMPLETED:
        return task
    if task.status != Task.Status.DELIVERED:
        raise InvalidTransition(task, to=Task.Status.COMPLETED)
    escrows = [e for e in escrows_for_task(task_id=task.pk) if e.status != Escrow.Status.RELEASED]
    if not escrows:
        raise Conflict("This task has no payment held in escrow.", code="escrow_missing")
    for escrow in escrows:
        escrow_approve(escrow=escrow, actor=actor)
    task.refresh_from_db()
    return task


# --- offers ---------------------------------------------------------------------------------


@transaction.atomic
def offer_submit(*, task: Task, tasker: User, amount: Decimal | str | int, currency: str, message: str = "") -> Offer:
    """A tasker bids on an open task, in the task's currency.

    Only users whose profile is a tasker may call it, never on their own task. A tasker has at
    most one live (pending or accepted) offer per task: a second call raises ``offer_exists``.
    """
    # Lock the task so a bid cannot slip in while the client is accepting another offer.
    task = _lock_task(task.pk)
    if task.client_id == tasker.pk:
        raise PermissionDenied("You cannot make an offer on your own task.", code="own_task")
    if not _is_tasker(tasker):
        raise PermissionDenied(
            "Only taskers can make offers. Turn on the tasker role in your profile.", code="not_a_tasker"
        )
    if task.status != Task.Status.OPEN:
        raise _task_not_open(task)
    currency = validate_currency(currency)
    if currency != task.currency:
        raise ValidationError(
            f"Offers on this task must be in {task.currency}, like its budget.",
            code="currency_mismatch",
            details={"field": "currency", "expected": task.currency},
        )
    amount_value = parse_amount(amount, currency)
    # The offer will be held in escrow if accepted: refuse now what escrow could not hold.
    escrow_amount_check(amount=amount_value, currency=currency)
    message = _clean_text(message, field="message", max_length=MESSAGE_MAX_LENGTH, required=False, label="message")
    if Offer.objects.filter(task=task, tasker=tasker, status__in=Offer.LIVE_STATUSES).exists():
        raise _offer_exists()

    offer = Offer(task=task, tasker=tasker, amount=money(amount_value, currency), message=message)
    _full_clean(offer, code="offer_invalid", exclude=["task", "tasker"])
    try:
        with transaction.atomic():
            offer.save()
    except IntegrityError:  # the partial unique index caught a concurrent duplicate
        raise _offer_exists()
    _event_record(task=task, offer=offer, actor=tasker, from_status="", to_status=Offer.Status.PENDING)
    return offer


def _offer_exists() -> Conflict:
    return Conflict("You already have an offer on this task. Withdraw it first to make a new one.", code="offer_exists")


@transaction.atomic
def offer_withdraw(*, offer: Offer, actor: User) -> Offer:
    """The tasker takes back a pending offer. Only the tasker who made it may call it.

    Calling it on an offer that is already withdrawn returns it unchanged; an accepted or
    rejected offer cannot be withdrawn.
    """
    _lock_task(offer.task_id)
    offer = _lock_offer(offer.pk)
    if offer.tasker_id != actor.pk:
        raise PermissionDenied("Only the tasker who made this offer can withdraw it.", code="not_offer_owner")
    if offer.status == Offer.Status.WITHDRAWN:
        return offer
    if offer.status != Offer.Status.PENDING:
        raise InvalidTransition(offer, to=Offer.Status.WITHDRAWN, code="offer_not_pending")
    now = timezone.now()
    offer.status = Offer.Status.WITHDRAWN
    offer.withdrawn_at = now
    offer.save(update_fields=["status", "withdrawn_at", "updated_at"])
    _event_record(
        task=offer.task, offer=offer, actor=actor, from_status=Offer.Status.PENDING, to_status=Offer.Status.WITHDRAWN
    )
    return offer


@transaction.atomic
def offer_reject(*, offer: Offer, actor: User, reason: str = "") -> Offer:
    """The client turns down one pending offer. Only the task's client may call it.

    Calling it on an offer that is already rejected returns it unchanged.
    """
    task = _lock_task(offer.task_id)
    offer = _lock_offer(offer.pk)
    _require_task_client(task=task, actor=actor)
    if offer.status == Offer.Status.REJECTED:
        return offer
    if offer.status != Offer.Status.PENDING:
        raise InvalidTransition(offer, to=Offer.Status.REJECTED, code="offer_not_pending")
    reason = _clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH, required=False, label="reason")
    now = timezone.now()
    offer.status = Offer.Status.REJECTED
    offer.rejected_at = now
    offer.save(update_fields=["status", "rejected_at", "updated_at"])
    _event_record(
        task=task,
        offer=offer,
        actor=actor,
        from_status=Offer.Status.PENDING,
        to_status=Offer.Status.REJECTED,
        reason=reason,
    )
    return offer


@transaction.atomic
def offer_accept(*, offer: Offer, actor: User) -> Offer:
    """The client accepts one pending offer on their open task.

    Only the task's client may call it. The task row is locked first, then the offer, so two
    concurrent accepts on the same task queue up behind each other: the offer becomes accepted,
    every other pending offer is rejected, and the task becomes assigned to the offer's tasker.
    Accepting the same offer again returns it unchanged; accepting a different offer once the
    task is assigned raises ``task_not_open``.

    The escrow for the agreed amount is created in the same transaction, so an accepted offer
    and its escrow are committed together or not at all; an amount the escrow refuses (limits,
    daily limit) makes the whole accept fail with that error.
    """
    task = _lock_task(offer.task_id)
    offer = _lock_offer(offer.pk)
    _require_task_client(task=task, actor=actor)
    if offer.status == Offer.Status.ACCEPTED and task.accepted_offer_id == offer.pk:
        return offer
    if task.status != Task.Status.OPEN:
        raise _task_not_open(task)
    if offer.status != Offer.Status.PENDING:
        raise InvalidTransition(offer, to=Offer.Status.ACCEPTED, code="offer_not_pending")

    now = timezone.now()
    offer.status = Offer.Status.ACCEPTED
    offer.accepted_at = now
    offer.save(update_fields=["status", "accepted_at", "updated_at"])
    _event_record(
        task=task, offer=offer, actor=actor, from_status=Offer.Status.PENDING, to_status=Offer.Status.ACCEPTED
    )
    _reject_pending_offers(task=task, actor=actor, reason="Another offer was accepted", keep=offer)

    task.status = Task.Status.ASSIGNED
    task.accepted_offer = offer
    task.assigned_at = now
    task.save(update_fields=["status", "accepted_offer", "assigned_at", "updated_at"])
    _event_record(
        task=task,
        actor=actor,
        from_status=Task.Status.OPEN,
        to_status=Task.Status.ASSIGNED,
        reason=f"Offer of {offer.amount} accepted",
    )
    escrow_create(
        task_id=task.pk, offer_id=offer.pk, client=task.client, tasker=offer.tasker, amount=offer.amount, actor=actor
    )
    return offer
