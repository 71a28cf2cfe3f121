"""Notification tasks: thin wrappers around the services, retried with backoff."""

from __future__ import annotations

from smtplib import SMTPException

from celery import Task, shared_task
from django.db import OperationalError

EMAIL_TASK = {
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": 60,
    "time_limit": 90,
}


class EmailTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):  # every retry failed
        from notifications.services import notification_email_failed

        notification_email_failed(notification_id=args[0] if args else kwargs["notification_id"])


@shared_task(
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(OSError, OperationalError),  # Redis or the database away for a moment
    max_retries=8,
    retry_backoff=5,
    retry_backoff_max=600,
)
def event_deliver(encoded_event: dict) -> int:
    """Notify the people a domain event concerns and refresh their live pages (idempotent: a
    redelivered task creates, emails and pushes nothing twice). Returns notifications created."""
    from notifications.registry import event_decode
    from notifications.services import event_notify

    return len(event_notify(event=event_decode(encoded_event)).created)


@shared_task(base=EmailTask, **EMAIL_TASK)
def notification_email(notification_id: int, subject: str, text: str, html: str) -> int:
    """Email one notification (text and HTML), at most once. Returns how many were sent."""
    from notifications.services import notification_email_send

    return notification_email_send(notification_id=notification_id, subject=subject, text=text, html=html)


@shared_task(soft_time_limit=120, time_limit=180)
def escrows_release_soon_notify() -> int:
    """Beat: tell clients whose escrow releases itself within a day (once per review window)."""
    from notifications.subscribers import escrows_release_soon_publish

    return escrows_release_soon_publish()


@shared_task(**EMAIL_TASK)
def escrow_funded_email(escrow_id: int, role: str) -> int:
    """Kept for tasks queued before notifications had their own rows: delivers the funding
    notifications through the same path (each person is told once)."""
    from notifications.services import event_notify
    from payments.events import EscrowFunded
    from payments.models import Escrow

    escrow = Escrow.objects.filter(pk=escrow_id).only("task_id").first()
    if escrow is None:
        return 0
    return len(event_notify(event=EscrowFunded(escrow_id=escrow_id, task_id=escrow.task_id)).created)
