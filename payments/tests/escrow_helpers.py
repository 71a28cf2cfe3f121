"""Moving an escrow along in page, API and admin tests, the way the real flow does it."""

from __future__ import annotations

from marketplace import services as market
from marketplace.models import Offer, Task
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments.models import Escrow
from payments.tests.factories import escrow_pay

RETURN_URL = "http://testserver/back/"


def escrow_for_task(task: Task) -> Escrow | None:
    """The task's current escrow (the newest that is not cancelled)."""
    return Escrow.objects.filter(task=task).exclude(status=Escrow.Status.CANCELLED).order_by("-created_at").first()


def accepted_escrow(*, task: Task | None = None, offer: Offer | None = None) -> Escrow:
    """Accept an offer through the service, which creates the escrow awaiting payment."""
    offer = offer or OfferFactory(task=task or TaskFactory())
    market.offer_accept(offer=offer, actor=offer.task.client)
    return Escrow.objects.get(offer=offer)


def fund(escrow: Escrow, *, card: str = "pm_card_visa") -> Escrow:
    """Pay with a test card at the emulator, then do what Stripe's webhook task does."""
    return escrow_pay(escrow, card=card)


def funded_task(*, task: Task | None = None, offer: Offer | None = None) -> Task:
    escrow = fund(accepted_escrow(task=task, offer=offer))
    escrow.task.refresh_from_db()
    return escrow.task


def delivered_task(*, task: Task | None = None, offer: Offer | None = None) -> Task:
    task = funded_task(task=task, offer=offer)
    market.task_mark_delivered(task=task, actor=task.accepted_offer.tasker)
    task.refresh_from_db()
    return task


__all__ = ["RETURN_URL", "accepted_escrow", "delivered_task", "escrow_for_task", "fund", "funded_task"]
