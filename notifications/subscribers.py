"""Who is told what: one notifier per kind, for the domain events of the apps below.

Each function gets the event after the publisher committed (in the ``event_deliver`` Celery task),
reads the rows it needs and returns a ``Notice`` per person to tell; its kind's templates are in
``templates/notifications/kinds/<kind>/``. The refreshers name the live topics whose page parts
reload for whom. See ``notifications/registry.py`` for how to add a kind.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from marketplace.events import OfferAccepted, OfferChanged, OfferSubmitted
from marketplace.models import Offer
from notifications.events import EscrowReleaseSoon
from notifications.models import Notification
from notifications.registry import Notice, notifies, refreshes
from payments.events import (
    EscrowCancelled,
    EscrowChanged,
    EscrowChangesRequested,
    EscrowDelivered,
    EscrowFunded,
    EscrowPaymentFailed,
    EscrowRefunded,
    EscrowReleased,
)
from payments.models import Escrow


def _escrow(event: EscrowChanged) -> Escrow | None:
    return Escrow.objects.select_related("task", "client", "tasker").filter(pk=event.escrow_id).first()


def _escrow_topics(escrow: Escrow) -> tuple[str, ...]:
    return (f"escrow:{escrow.pk}", f"task:{escrow.task_id}")


# --- marketplace ----------------------------------------------------------------------------


@notifies(OfferSubmitted, kind="offer_received", label="New offer on my task")
def offer_received(event: OfferSubmitted) -> Iterator[Notice]:
    offer = Offer.objects.select_related("task", "tasker").filter(pk=event.offer_id).first()
    if offer is None:
        return
    yield Notice(
        recipient_id=event.client_id,
        dedupe_key=f"offer:{offer.pk}",
        link=offer.task.get_absolute_url(),
        context={"offer": offer, "task": offer.task},
    )


@notifies(OfferAccepted, kind="offer_accepted", label="My offer accepted")
def offer_accepted(event: OfferAccepted) -> Iterator[Notice]:
    offer = Offer.objects.select_related("task", "task__client").filter(pk=event.offer_id).first()
    if offer is None:
        return
    yield Notice(
        recipient_id=event.tasker_id,
        dedupe_key=f"offer:{offer.pk}",
        link=offer.task.get_absolute_url(),
        context={"offer": offer, "task": offer.task},
    )


@refreshes(OfferChanged)
def offer_pages(event: OfferChanged) -> Iterator[tuple[int, str]]:
    for user_id in (event.client_id, event.tasker_id):
        yield user_id, f"task:{event.task_id}"


# --- escrow ---------------------------------------------------------------------------------


@refreshes(EscrowChanged)
def escrow_pages(event: EscrowChanged) -> Iterator[tuple[int, str]]:
    """Every escrow change reloads its escrow and task parts, and the wallet, for both parties."""
    escrow = Escrow.objects.filter(pk=event.escrow_id).values("client_id", "tasker_id").first()
    if escrow is None:
        return
    for user_id in (escrow["client_id"], escrow["tasker_id"]):
        yield user_id, f"escrow:{event.escrow_id}"
        yield user_id, f"task:{event.task_id}"
        yield user_id, "wallet"


@notifies(EscrowPaymentFailed, kind="payment_failed", label="My payment failed")
def payment_failed(event: EscrowPaymentFailed) -> Iterator[Notice]:
    escrow = _escrow(event)
    if escrow is None:
        return
    yield Notice(
        recipient_id=escrow.client_id,
        dedupe_key=f"escrow:{escrow.pk}:{event.attempt or event.message}",
        link=reverse("payments:checkout", args=[escrow.pk]),
        context={"escrow": escrow, "task": escrow.task, "message": event.message},
    )


@notifies(EscrowFunded, kind="escrow_funded", label="Payment held in escrow")
def escrow_funded(event: EscrowFunded) -> Iterator[Notice]:
    escrow = _escrow(event)
    if escrow is None:
        return
    for role, user_id in (("client", escrow.client_id), ("tasker", escrow.tasker_id)):
        yield Notice(
            recipient_id=user_id,
            dedupe_key=f"escrow:{escrow.pk}",
            link=escrow.task.get_absolute_url(),
            context={"escrow": escrow, "task": escrow.task, "role": role},
        )


@notifies(EscrowDelivered, kind="work_delivered", label="Work delivered for my review")
def work_delivered(event: EscrowDelivered) -> Iterator[Notice]:
    escrow = _escrow(event)
    if escrow is None:
        return
    yield Notice(
        recipient_id=escrow.client_id,
        dedupe_key=f"escrow:{escrow.pk}:delivery:{event.record_id}",
        link=escrow.task.get_absolute_url(),
        context={"escrow": escrow, "task": escrow.task},
    )


@notifies(EscrowChangesRequested, kind="changes_requested", label="Changes requested on my work")
def changes_requested(event: EscrowChangesRequested) -> Iterator[Notice]:
    escrow = _escrow(event)
    if escrow is None:
        return
    yield Notice(
        recipient_id=escrow.tasker_id,
        dedupe_key=f"escrow:{escrow.pk}:changes:{event.record_id}",
        link=escrow.task.get_absolute_url(),
        context={"escrow": escrow, "task": escrow.task, "reason": event.reason},
    )


@notifies(EscrowReleaseSoon, kind="release_soon", label="Automatic release in 24 hours")
def release_soon(event: EscrowReleaseSoon) -> Iterator[Notice]:
    escrow = _escrow(event)
    if escrow is None or escrow.status != Escrow.Status.FUNDED or escrow.release_due_at is None:
        return  # approved, refunded or changes asked for meanwhile: nothing to warn about
    yield Notice(
        recipient_id=escrow.client_id,
        dedupe_key=f"escrow:{escrow.pk}:{event.release_due_at}",
        link=escrow.task.get_absolute_url(),
        context={"escrow": escrow, "task": escrow.task},
    )


@notifies(EscrowReleased, kind="escrow_released", label="Payment released")
def escrow_released(event: EscrowReleased) -> Iterator[Notice]:
    escrow = _escrow(event)
    if escrow is None:
        return
    yield Notice(
        recipient_id=escrow.tasker_id,
        dedupe_key=f"escrow:{escrow.pk}",
        link=reverse("wallets:wallet"),
        context={"escrow": escrow, "task": escrow.task, "role": "tasker", "tasker_net": event.tasker_net},
    )
    yield Notice(
        recipient_id=escrow.client_id,
        dedupe_key=f"escrow:{escrow.pk}",
        link=escrow.task.get_absolute_url(),
        context={"escrow": escrow, "task": escrow.task, "role": "client", "tasker_net": event.tasker_net},
    )


@notifies(EscrowRefunded, kind="escrow_refunded", label="Refund")
def escrow_refunded(event: EscrowRefunded) -> Iterator[Notice]:
    escrow = _escrow(event)
    if escrow is None:
        return
    refund = event.refund_id if event.refund_id is not None else f"{event.amount}:{event.full}"
    for role, user_id in (("client", escrow.client_id), ("tasker", escrow.tasker_id)):
        yield Notice(
            recipient_id=user_id,
            dedupe_key=f"escrow:{escrow.pk}:refund:{refund}",
            link=escrow.task.get_absolute_url(),
            context={"escrow": escrow, "task": escrow.task, "role": role, "amount": event.amount, "full": event.full},
        )


@notifies(EscrowCancelled, kind="escrow_cancelled", label="Payment cancelled")
def escrow_cancelled(event: EscrowCancelled) -> Iterator[Notice]:
    escrow = _escrow(event)
    if escrow is None:
        return
    for role, user_id in (("client", escrow.client_id), ("tasker", escrow.tasker_id)):
        yield Notice(
            recipient_id=user_id,
            dedupe_key=f"escrow:{escrow.pk}",
            link=escrow.task.get_absolute_url(),
            context={"escrow": escrow, "task": escrow.task, "role": role, "expired": event.expired},
        )


def escrows_release_soon_publish(*, now=None) -> int:
    """Publish ``EscrowReleaseSoon`` for each funded escrow due within
    ``NOTIFICATIONS_RELEASE_REMINDER`` whose client has not been told for this review window yet.
    Run by beat every 15 minutes; returns how many were published."""
    from core.events import publish

    now = now or timezone.now()
    due = list(
        Escrow.objects.filter(
            status=Escrow.Status.FUNDED,
            release_due_at__gt=now,
            release_due_at__lte=now + settings.NOTIFICATIONS_RELEASE_REMINDER,
        ).values_list("pk", "task_id", "release_due_at")
    )
    keys = {pk: f"release_soon:escrow:{pk}:{due_at.isoformat()}" for pk, _, due_at in due}
    told = set(
        Notification.objects.filter(kind="release_soon", dedupe_key__in=keys.values()).values_list(
            "dedupe_key", flat=True
        )
    )
    published = 0
    for pk, task_id, due_at in due:
        if keys[pk] not in told:
            publish(EscrowReleaseSoon(escrow_id=pk, task_id=task_id, release_due_at=due_at.isoformat()))
            published += 1
    return published
