"""Celery tasks for payments: thin wrappers around services. All idempotent; money tasks ack late
so a worker that dies mid-task leaves the message to be redelivered."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)

MONEY_TASK = {"acks_late": True, "reject_on_worker_lost": True, "autoretry_for": (), "max_retries": 5}


@shared_task(bind=True, **MONEY_TASK)
def stripe_event_process(self, event_id: str) -> str:
    """Route a stored Stripe event to its service. The service re-reads the object from Stripe."""
    from django.db import OperationalError
    from djstripe.models import Event

    from payments import services
    from payments.stripe_gateway import PaymentProviderUnavailable

    event = Event.objects.get(id=event_id)
    obj = event.data.get("object", {})
    try:
        if event.type == "payment_intent.succeeded":
            services.escrow_fund_from_stripe(payment_intent_id=obj["id"], stripe_event_id=event.id)
        elif event.type == "payment_intent.payment_failed":
            services.escrow_payment_failure_from_stripe(payment_intent_id=obj["id"], stripe_event_id=event.id)
        elif event.type == "charge.refunded":
            services.refunds_settle_from_stripe(charge_id=obj["id"], stripe_event_id=event.id)
        elif event.type == "charge.refund.updated":
            services.refunds_settle_from_stripe(charge_id=obj["charge"], stripe_event_id=event.id)
    except (PaymentProviderUnavailable, OperationalError) as exc:  # Stripe or the database, for a moment
        raise self.retry(exc=exc, countdown=30)
    return event.type


@shared_task(**MONEY_TASK)
def escrows_release_due() -> int:
    from payments import services

    released = services.escrows_release_due()
    if released:
        logger.info("Released %s escrows whose review window ended", released)
    return released


@shared_task(**MONEY_TASK)
def escrow_refunds_settle() -> int:
    from payments import services

    return services.escrow_refunds_settle()


@shared_task(**MONEY_TASK)
def escrows_payment_reconcile() -> int:
    from payments import services

    return services.escrows_payment_reconcile()


@shared_task(**MONEY_TASK)
def escrows_expire_unfunded() -> int:
    from payments import services

    return services.escrows_expire_unfunded()


@shared_task
def escrows_flag_stale() -> int:
    from payments import services

    return services.escrows_flag_stale()
