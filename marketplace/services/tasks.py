"""Posting, editing, cancelling and moving a task along: delivery, changes, completion."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction

from accounts.models import User
from core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError
from core.money import money, parse_amount, validate_currency
from core.validation import model_full_clean
from marketplace.models import Offer, Task
from marketplace.services.common import (
    DESCRIPTION_MAX_LENGTH,
    REASON_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    _clean_category,
    _clean_text,
    _event_record,
    _is_client,
    _lock_task,
    _lock_task_and_escrows,
    _reject_pending_offers,
    _require_assigned_tasker,
    _require_task_client,
    _task_not_open,
    _task_transition,
)
from payments.escrow import (
    escrow_amount_check,
    escrow_approve,
    escrow_cancel,
    escrows_changes_requested_record,
    escrows_delivery_record,
    escrows_for_task,
)
from payments.models import Escrow, EscrowRefund


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
    model_full_clean(task, code="task_invalid", exclude=["accepted_offer"])
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

    model_full_clean(task, code="task_invalid", exclude=["accepted_offer"])
    task.save()
    return task


def task_cancel(*, task: Task, actor: User, reason: str = "") -> Task:
    """Cancel a task before the work is delivered. Only its client may call it.

    An open task is simply closed (pending offers rejected). An assigned task's unpaid escrow is
    cancelled; a paid one (the work has started) is refunded once the tasker agrees: disputes
    turns the cancel into a request the tasker accepts, or Support rules on. Once the work is delivered the
    client approves it, asks for changes or disputes it instead. Calling it on a task that is
    already cancelled returns it unchanged.
    """
    task = Task.objects.get(pk=task.pk)
    _require_task_client(task=task, actor=actor)
    if task.status == Task.Status.CANCELLED:
        return task
    reason = _clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH, required=False, label="reason")
    if task.status in (Task.Status.ASSIGNED, Task.Status.IN_PROGRESS, Task.Status.DELIVERED):
        refund_pending = requested = False
        for escrow in escrows_for_task(task_id=task.pk):
            # The processor is called here, outside any lock; the escrow services lock what they change.
            escrow = escrow_cancel(escrow=escrow, actor=actor, reason=reason or "Cancelled by the client")
            refund_pending |= escrow.refunds.filter(status=EscrowRefund.Status.PENDING).exists()
            requested |= escrow.status == Escrow.Status.DISPUTED  # the tasker is asked to agree first
        if refund_pending or requested:
            return Task.objects.get(pk=task.pk)  # the refund is not made yet: it cancels the task when it is
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
    task, escrows = _lock_task_and_escrows(task.pk)
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
    escrows_delivery_record(escrows=escrows, actor=actor)
    return task


@transaction.atomic
def task_request_changes(*, task: Task, actor: User, reason: str) -> Task:
    """The client sends delivered work back: delivered → in progress, with a reason the tasker sees.

    Only the client may call it. A repeat while the task is already back in progress returns it
    unchanged (no second event).
    """
    task, escrows = _lock_task_and_escrows(task.pk)
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
    escrows_changes_requested_record(escrows=escrows, actor=actor, reason=reason)
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
    open_escrows = [e for e in escrows_for_task(task_id=task.pk) if e.status != Escrow.Status.RELEASED]
    if not open_escrows:
        raise Conflict("This task has no payment held in escrow.", code="escrow_missing")
    # Release what is held; with nothing held, the first open escrow's refusal says why.
    for escrow in [e for e in open_escrows if e.status == Escrow.Status.FUNDED] or open_escrows[:1]:
        escrow_approve(escrow=escrow, actor=actor)
    task.refresh_from_db()
    return task
