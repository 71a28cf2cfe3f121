"""Stripe webhook handlers: thin. They enqueue a Celery task once the event row is committed;
the task re-reads the object from Stripe and calls a service (DESIGN §5)."""

from django.db import transaction
from djstripe.event_handlers import djstripe_receiver

HANDLED_EVENTS = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    "charge.refund.updated",
]


@djstripe_receiver(HANDLED_EVENTS)
def stripe_event_received(sender, event, **kwargs):
    from payments.tasks import stripe_event_process

    event_id = event.id
    transaction.on_commit(lambda: stripe_event_process.delay(event_id))
