"""Celery tasks for the ledger: thin wrappers around selectors and services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.mail import mail_admins

from wallets.selectors import ledger_invariant_violations

logger = logging.getLogger(__name__)


@shared_task(name="wallets.ledger_check", acks_late=True)
def ledger_check() -> int:
    """Run by beat (``CELERY_BEAT_SCHEDULE``): log and alert the admins when an invariant is broken.

    Returns the number of violations (0 when the ledger is sound). Read-only, so safe to repeat.
    """
    violations = ledger_invariant_violations()
    if not violations:
        logger.info("Ledger check passed.")
        return 0
    report = "\n".join(f"[{v.check}] {v.message}" for v in violations)
    logger.error("Ledger check FAILED with %d violation(s):\n%s", len(violations), report)
    mail_admins(f"Ledger check failed: {len(violations)} violation(s)", report, fail_silently=True)
    return len(violations)
