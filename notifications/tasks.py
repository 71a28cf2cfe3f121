"""Email tasks: retried with exponential backoff when the mail server fails."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

EMAIL_TASK = {
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": 60,
    "time_limit": 90,
}


@shared_task(**EMAIL_TASK)
def escrow_funded_email(escrow_id: int, role: str) -> int:
    """Tell the client or the tasker that the client's payment is held. Returns how many were sent."""
    from notifications.services import escrow_funded_send

    return escrow_funded_send(escrow_id=escrow_id, role=role)
