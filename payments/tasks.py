"""Celery tasks for payments: thin wrappers around the escrow services, run by beat. All
idempotent; money tasks ack late so a worker that dies mid-task leaves the message to be
redelivered, and have time limits so a hung call cannot hold a worker for ever."""

import logging

from celery import shared_task

from processors.tasks import MONEY_TASK

logger = logging.getLogger(__name__)


@shared_task(**MONEY_TASK)
def stripe_event_process(event_id: str) -> None:
    """The webhook task's former name, kept so that messages queued (or retrying) before an upgrade
    are still processed (Celery drops a message whose task name no worker knows): hands the event
    on to ``processors.tasks.stripe_event_process``."""
    from processors.tasks import stripe_event_process as current

    current.delay(event_id)


# The sweeper may release thousands of escrows in one run: a longer limit than other money tasks
# (each batch is its own transaction, so one cut short keeps what it committed).
@shared_task(**{**MONEY_TASK, "soft_time_limit": 1800, "time_limit": 1900})
def escrows_release_due() -> int:
    from payments.escrow import escrows_release_due

    released = escrows_release_due()
    if released:
        logger.info("Released %s escrows whose review window ended", released)
    return released


@shared_task(**MONEY_TASK)
def escrow_refunds_settle() -> int:
    from payments.escrow import escrow_refunds_settle

    return escrow_refunds_settle()


@shared_task(**MONEY_TASK)
def escrows_payment_reconcile() -> int:
    from payments.escrow import escrows_payment_reconcile

    return escrows_payment_reconcile()


@shared_task(**MONEY_TASK)
def escrows_expire_unfunded() -> int:
    from payments.escrow import escrows_expire_unfunded

    return escrows_expire_unfunded()


@shared_task(soft_time_limit=300, time_limit=360)
def escrows_flag_stale() -> int:
    from payments.escrow import escrows_flag_stale

    return escrows_flag_stale()


@shared_task(**MONEY_TASK)
def top_ups_payment_reconcile() -> int:
    from payments.topups import top_ups_payment_reconcile

    return top_ups_payment_reconcile()


@shared_task(**MONEY_TASK)
def withdrawals_settle() -> int:
    from payments.topups import withdrawals_settle

    return withdrawals_settle()
