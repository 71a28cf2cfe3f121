"""Stripe webhook receivers: thin. Once dj-stripe has stored an event (once, by its id), they
enqueue ``processors.tasks.stripe_event_process`` on commit; the task turns it into a neutral
``ProcessorEvent`` and hands it to the handler registered for its kind (DESIGN §5)."""

from django.db import transaction
from djstripe.event_handlers import djstripe_receiver

from processors.stripe.adapter import EVENT_KINDS


@djstripe_receiver(sorted(EVENT_KINDS))
def stripe_event_received(sender, event, **kwargs):
    from processors.tasks import stripe_event_process

    event_id = event.id
    transaction.on_commit(lambda: stripe_event_process.delay(event_id))
