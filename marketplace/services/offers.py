"""Bidding: submit, withdraw, reject, accept (which creates the escrow)."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core import events
from core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError
from core.money import money, parse_amount, validate_currency
from core.validation import model_full_clean
from marketplace.events import OfferAccepted, OfferSubmitted
from marketplace.models import Offer, Task
from marketplace.services.common import (
    MESSAGE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    _clean_text,
    _event_record,
    _is_tasker,
    _lock_offer,
    _lock_task,
    _reject_pending_offers,
    _require_task_client,
    _task_not_open,
)
from payments.escrow import (
    escrow_amount_check,
    escrow_create,
)


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
    model_full_clean(offer, code="offer_invalid", exclude=["task", "tasker"])
    try:
        with transaction.atomic():
            offer.save()
    except IntegrityError:  # the partial unique index caught a concurrent duplicate
        raise _offer_exists()
    _event_record(task=task, offer=offer, actor=tasker, from_status="", to_status=Offer.Status.PENDING)
    events.publish(OfferSubmitted(offer_id=offer.pk, task_id=task.pk, tasker_id=tasker.pk, client_id=task.client_id))
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
    escrow = escrow_create(
        task_id=task.pk, offer_id=offer.pk, client=task.client, tasker=offer.tasker, amount=offer.amount, actor=actor
    )
    events.publish(
        OfferAccepted(
            offer_id=offer.pk, task_id=task.pk, tasker_id=offer.tasker_id, client_id=task.client_id, escrow_id=escrow.pk
        )
    )
    return offer
