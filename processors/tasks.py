"""Celery tasks of the processors layer: process stored webhook events and route them to their
handlers."""

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


# dj-stripe's mirror of an event's object costs more than Holdfast's own handling (two reads from
# Stripe and some thirty statements for a PaymentIntent): it runs after the handler, a few seconds
# later and as a message of lower priority (Redis: a higher number), so a burst of payments is
# funded first and mirrored when the worker has time.
MIRROR_PRIORITY = 9
MIRROR_DELAY_SECONDS = 5


@shared_task(bind=True, **MONEY_TASK)
def stripe_event_process(self, event_id: str) -> str:
    """Run Holdfast's handler for a Stripe event the webhook stored (``processors.WebhookEvent``):
    the one registered for its neutral kind, which re-reads the object from Stripe (the payload is
    not trusted, nor dj-stripe's mirror, which may not have caught up). Marks the event processed
    and queues its mirror. A second message for it (a second delivery) finds it processed."""
    from django.db import OperationalError
    from django.utils import timezone

    from processors.models import WebhookEvent
    from processors.registry import event_dispatch
    from processors.stripe.adapter import NAME
    from processors.stripe.handlers import stripe_event_neutral

    stored = WebhookEvent.objects.filter(processor=NAME, event_id=event_id).first()
    if stored is None:
        return _legacy_event_process(self, event_id)
    if stored.processed_at is None:
        outcome = ""
        neutral = stripe_event_neutral(event_id=event_id, payload=stored.payload)
        if neutral is not None:
            try:
                outcome = _dispatch(event_dispatch, neutral, stored.type)
            except (PaymentProviderUnavailable, OperationalError) as exc:  # Stripe or the database, for a moment
                raise self.retry(exc=exc, countdown=30)
        WebhookEvent.objects.filter(pk=stored.pk).update(processed_at=timezone.now(), outcome=outcome[:500])
    if stored.mirrored_at is None:
        stripe_event_mirror.apply_async((event_id,), priority=MIRROR_PRIORITY, countdown=MIRROR_DELAY_SECONDS)
    return stored.type


@shared_task(bind=True, **MONEY_TASK)
def stripe_event_mirror(self, event_id: str) -> str:
    """dj-stripe stores the event and mirrors its object (reading it from Stripe). An object Stripe
    no longer has is logged and the event acknowledged (``outcome`` says so)."""
    from django.db import OperationalError
    from django.utils import timezone

    from processors.models import WebhookEvent
    from processors.stripe.adapter import NAME
    from processors.stripe.handlers import stripe_event_mirror as mirror

    stored = WebhookEvent.objects.filter(processor=NAME, event_id=event_id, mirrored_at__isnull=True).first()
    if stored is None:
        return ""
    try:
        problem = mirror(event_id=event_id, payload=stored.payload, endpoint=stored.endpoint)
    except (PaymentProviderUnavailable, OperationalError) as exc:
        raise self.retry(exc=exc, countdown=30)
    changes = {"mirrored_at": timezone.now()}
    if problem:
        changes["outcome"] = "; ".join(filter(None, [stored.outcome, problem]))[:500]
    WebhookEvent.objects.filter(pk=stored.pk).update(**changes)
    return stored.type


def _dispatch(event_dispatch, neutral, event_type: str) -> str:
    """Run the handler; a refusal that retrying cannot help is logged and returned (else "")."""
    try:
        event_dispatch(neutral)
    except PaymentError as exc:
        # Stripe refuses for good. An object Stripe does not know (an event for a payment of
        # another account, say) is a warning; anything else needs a person.
        log = logger.warning if exc.code == "stripe_resource_missing" else logger.error
        log("Stripe event %s (%s) not acted on: %s (%s)", neutral.event_id, event_type, exc.message, exc.code)
        return f"not acted on: {exc.message} ({exc.code})"
    return ""


def _legacy_event_process(task, event_id: str) -> str:
    """A message queued before webhooks were stored by ``processors.WebhookEvent``: dj-stripe had
    already mirrored the event in the request; only Holdfast's handler is left to run."""
    from django.db import OperationalError
    from djstripe.models import Event

    from processors.registry import event_dispatch
    from processors.stripe.adapter import event_from_stripe

    event = Event.objects.filter(id=event_id).first()
    if event is None:
        logger.warning("Stripe event %s is not stored; nothing to process", event_id)
        return ""
    neutral = event_from_stripe(event_id=event.id, event_type=event.type, obj=event.data.get("object", {}))
    if neutral is None:
        return event.type
    try:
        _dispatch(event_dispatch, neutral, event.type)
    except (PaymentProviderUnavailable, OperationalError) as exc:
        raise task.retry(exc=exc, countdown=30)
    return event.type
