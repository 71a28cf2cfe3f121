"""Moving an escrow along in page, API and admin tests, the way the real flow does it."""

from __future__ import annotations

from marketplace import services as market
from marketplace.models import Offer, Task
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments.models import Escrow
from payments.services import escrow_for_task, escrow_fund_from_stripe, escrow_payment_confirm

RETURN_URL = "http://testserver/back/"


def accepted_escrow(*, task: Task | None = None, offer: Offer | None = None) -> Escrow:
    """Accept an offer through the service, which creates the escrow awaiting payment."""
    offer = offer or OfferFactory(task=task or TaskFactory())
    market.offer_accept(offer=offer, actor=offer.task.client)
    return Escrow.objects.get(offer=offer)


def fund(escrow: Escrow, *, card: str = "pm_card_visa") -> Escrow:
    """Pay with a test card at the emulator, then do what Stripe's webhook task does."""
    escrow_payment_confirm(escrow=escrow, actor=escrow.client, payment_method=card, return_url=RETURN_URL)
    escrow.refresh_from_db()
    escrow_fund_from_stripe(payment_intent_id=escrow.payment_intent_id)
    escrow.refresh_from_db()
    return escrow


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
