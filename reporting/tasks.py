"""Reporting's Celery tasks: thin wrappers around ``reporting.services``."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task


@shared_task(name="reporting.ledger_rollup_refresh", soft_time_limit=240, time_limit=300)
def ledger_rollup_refresh() -> str:
    """Beat: add the newest ledger postings to the revenue dashboard's roll-up."""
    from reporting.services import ledger_rollup_refresh as refresh

    return refresh().isoformat()


@shared_task(
    name="reporting.payment_receipt_email",
    autoretry_for=(SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=60,
    time_limit=90,
)
def payment_receipt_email(escrow_id: int) -> int:
    """Email the client the PDF receipt of the payment into ``escrow_id`` (retried if mail fails)."""
    from reporting.services import payment_receipt_email_send

    return payment_receipt_email_send(escrow_id=escrow_id)
