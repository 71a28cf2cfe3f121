"""Reporting's writes: the ledger roll-up, and receipts sent by email."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from core.money import format_money
from payments import selectors as payments
from reporting.models import FeeDay, LedgerDay, RollupState
from reporting.selectors.revenue import EPOCH
from wallets.selectors import ledger_flows, ledger_settled_before

logger = logging.getLogger(__name__)

_ADD_DAY_SQL = """
    INSERT INTO reporting_ledgerday (day, currency, account_kind, entry_kind, amount, postings)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (day, currency, account_kind, entry_kind)
    DO UPDATE SET amount = reporting_ledgerday.amount + EXCLUDED.amount,
                  postings = reporting_ledgerday.postings + EXCLUDED.postings"""
_ADD_FEES_SQL = """
    INSERT INTO reporting_feeday (day, currency, client_fees) VALUES (%s, %s, %s)
    ON CONFLICT (day, currency) DO UPDATE SET client_fees = reporting_feeday.client_fees + EXCLUDED.client_fees"""


@transaction.atomic
def ledger_rollup_refresh(*, until: dt.datetime | None = None, margin: dt.timedelta | None = None) -> dt.datetime:
    """Add the postings (and releases) made since the roll-up's end to the roll-up. Returns its new end.

    For the beat job (every few minutes) and the dashboard's "refresh" button. The new end is an
    instant before which every posting is committed (``ledger_settled_before``), so nothing is ever
    added twice or missed: the state row is locked, each window ``[covered_until, new end)`` is added
    once, and two refreshes at once run one after the other. Running it again at once adds nothing.
    ``until`` holds the end back (never forward); ``margin``: see ``ledger_settled_before``.
    """
    state, _ = RollupState.objects.select_for_update().get_or_create(pk=1)
    end = ledger_settled_before() if margin is None else ledger_settled_before(margin=margin)
    if until is not None:
        end = min(end, until)
    since = state.covered_until or EPOCH
    if end <= since:
        return since
    flows = ledger_flows(since=since, until=end)
    fees = payments.escrow_client_fees_kept(since=since, until=end)
    with connection.cursor() as cursor:
        if flows:
            cursor.executemany(
                _ADD_DAY_SQL,
                [(f.day, f.currency, f.account_kind, f.entry_kind, f.amount, f.postings) for f in flows],
            )
        if fees:
            cursor.executemany(_ADD_FEES_SQL, [(day, cur, amount) for (day, cur), amount in fees.items()])
    state.covered_until = end
    state.refreshed_at = timezone.now()
    state.save(update_fields=["covered_until", "refreshed_at"])
    return end


def ledger_rollup_rebuild() -> dt.datetime:
    """Start the roll-up again from nothing (after restoring a backup, say), then refresh it."""
    with transaction.atomic():
        RollupState.objects.select_for_update().filter(pk=1).delete()
        LedgerDay.objects.all().delete()
        FeeDay.objects.all().delete()
    return ledger_rollup_refresh()


def payment_receipt_email_send(*, escrow_id: int) -> int:
    """Email the client the PDF receipt of their payment into ``escrow_id``. Returns how many were sent.

    Sent when the payment is booked (``EscrowFunded``, on commit, through a retried Celery task).
    Also the function the escrow-funded notification can call to attach the same receipt:
    ``reporting.receipts.payment_receipt_attachment(escrow_id)`` gives (filename, bytes, type).
    """
    from reporting.receipts import payment_receipt_attachment

    escrow = payments.escrows_paid().select_related("client", "task").filter(pk=escrow_id).first()
    if escrow is None:
        logger.warning("No paid escrow %s to send a receipt for", escrow_id)
        return 0
    filename, content, mimetype = payment_receipt_attachment(escrow_id)
    message = EmailMessage(
        subject=f"Your Holdfast receipt for “{escrow.task.title}”",
        body=(
            f"Thank you for your payment of {format_money(escrow.client_total, escrow.currency)}. "
            "Your receipt is attached; all your payments and receipts are at "
            f"{settings.SITE_URL}{reverse('reporting:history')}."
        ),
        to=[escrow.client.email],
    )
    message.attach(filename, content, mimetype)
    return message.send()
