"""Celery tasks of the payouts app: thin wrappers that call services (with time limits)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from processors.interface import PaymentProviderUnavailable
from processors.tasks import MONEY_TASK

logger = logging.getLogger(__name__)

# Executing a payout waits for the rate limit's slots (a few seconds at most) and makes two writes.
EXECUTE = {**MONEY_TASK, "max_retries": 10, "soft_time_limit": 90, "time_limit": 120}
SWEEP = {"acks_late": True, "soft_time_limit": 600, "time_limit": 660}


@shared_task(bind=True, **EXECUTE)
def payout_execute(self, payout_id: int) -> str:
    """Transfer and bank payout for one payout. Idempotent: keys from the payout id and attempt."""
    from payouts.services import payout_execute as execute

    try:
        return execute(payout_id=payout_id).status
    except (PaymentProviderUnavailable, OperationalError) as exc:
        # Stripe or the database, for a moment: again soon (beat also picks it up).
        raise self.retry(exc=exc, countdown=min(300, 15 * 2**self.request.retries))


@shared_task(**SWEEP)
def payouts_execute_due() -> int:
    """Payouts waiting for funds (or whose job was lost) whose time has come: execute them again."""
    from payouts.services import payouts_execute_due as due

    ids = due()
    for payout_id in ids:
        payout_execute.delay(payout_id)
    return len(ids)


@shared_task(**SWEEP)
def payouts_schedule_due() -> int:
    from payouts.services import payouts_schedule_due as due

    return due()


@shared_task(**SWEEP)
def payouts_refresh_in_transit() -> int:
    from payouts.services import payouts_refresh_in_transit as refresh

    return refresh()


@shared_task(soft_time_limit=1800, time_limit=1900)
def payouts_reconcile() -> int:
    """The daily comparison with Stripe; the differences are in the admin's reconciliation report."""
    from payouts.services import payouts_reconcile as reconcile

    run = reconcile()
    return run.differences
