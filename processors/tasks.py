"""Celery tasks of the processors layer: route stored processor events to their handlers."""

import logging

from celery import shared_task

from processors.interface import PaymentError, PaymentProviderUnavailable

logger = logging.getLogger(__name__)

# Money tasks ack late, so a worker that dies mid-task leaves the message to be redelivered; the
# handlers are idempotent. The time limits stop a hung call from holding a worker for ever.
MONEY_TASK = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": 5,
    "soft_time_limit": 120,
    "time_limit": 180,
}


@shared_task(bind=True, **MONEY_TASK)
def stripe_event_process(self, event_id: str) -> str:
    """Turn a stored Stripe event into a neutral one and run the handler registered for its kind.
    The handler re-reads the object from Stripe: the payload is not trusted."""
    from django.db import OperationalError
    from djstripe.models import Event

    from processors.registry import event_dispatch
    from processors.stripe.adapter import event_from_stripe

    event = Event.objects.get(id=event_id)
    neutral = event_from_stripe(event_id=event.id, event_type=event.type, obj=event.data.get("object", {}))
    if neutral is None:
        return event.type
    try:
        event_dispatch(neutral)
    except (PaymentProviderUnavailable, OperationalError) as exc:  # Stripe or the database, for a moment
        raise self.retry(exc=exc, countdown=30)
    except PaymentError as exc:
        # Stripe refuses for good: retrying cannot help. An object Stripe does not know (an event
        # for a payment of another account, say) is a warning; anything else needs a person.
        log = logger.warning if exc.code == "stripe_resource_missing" else logger.error
        log("Stripe event %s (%s) not acted on: %s (%s)", event.id, event.type, exc.message, exc.code)
    return event.type
