"""Celery tasks of the disputes app: thin wrappers around services."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def disputes_escalate_overdue() -> int:
    """Beat: disputes nobody answered by their deadline go to Support's queue."""
    from disputes.services import disputes_escalate_overdue as escalate

    return escalate()


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def chargebacks_reconcile() -> int:
    """Beat: chargebacks whose webhooks never came are read back from the processor and booked."""
    from disputes.services import chargebacks_reconcile as reconcile

    return reconcile()


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def dispute_ruling_finish(dispute_id: int) -> str:
    """Finish a ruling once the escrow's refund has settled (idempotent)."""
    from core.errors import ApplicationError
    from disputes.models import Dispute
    from disputes.services import dispute_ruling_finish as finish

    try:
        return finish(dispute=Dispute.objects.get(pk=dispute_id)).status
    except ApplicationError as exc:  # not settled yet: the next refund event or a ruling run again finishes it
        logger.warning("Dispute %s: ruling not finished yet: %s", dispute_id, exc)
        return "pending"
