"""Celery tasks of the disputes app: thin wrappers around services."""

from celery import shared_task


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def disputes_escalate_overdue() -> int:
    """Beat: disputes nobody answered by their deadline go to Support's queue."""
    from disputes.services import disputes_escalate_overdue as escalate

    return escalate()
