"""Reconciliation: Holdfast's payouts and ledger against what the processor says.

Compared: each payout's transfer (amount, reversed or not) and bank payout (status), and the
platform's balance at the processor against the ledger's processor account, allowing for money in
flight (payouts transferred but not yet paid) and the processor's own fees. Differences are
written to a ``ReconciliationRun`` for Finance (admin report) and logged as errors; nothing is
changed to make them agree.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from core.money import format_money
from payouts.models import Payout, ReconciliationDifference, ReconciliationRun
from payouts.services.lifecycle import S
from processors.interface import BankPayoutStatus, PaymentError
from processors.registry import payout_processor
from wallets.models import LedgerAccount
from wallets.selectors import account_balance

logger = logging.getLogger(__name__)

# Our status -> the bank payout statuses at the processor that agree with it.
AGREEING = {
    S.IN_TRANSIT: {BankPayoutStatus.PENDING, BankPayoutStatus.IN_TRANSIT, BankPayoutStatus.PAID},
    S.PAID: {BankPayoutStatus.PAID},
    S.FAILED: {BankPayoutStatus.FAILED, BankPayoutStatus.CANCELED},
}


def payouts_reconcile(*, days: int = 35) -> ReconciliationRun:
    """Compare payouts changed in the last ``days`` days and the platform balance; record the run."""
    run = ReconciliationRun.objects.create()
    differences: list[ReconciliationDifference] = []
    processor = payout_processor()
    since = timezone.now() - timedelta(days=days)
    payouts = (
        Payout.objects.filter(updated_at__gte=since, transfer__isnull=False)
        .select_related("account", "transfer", "bank_payout")
        .order_by("pk")
    )
    checked = 0

    def differ(kind, payout, holdfast, theirs, message, currency=""):
        differences.append(
            ReconciliationDifference(
                run=run,
                kind=kind,
                payout=payout,
                currency=currency or (payout.currency if payout else ""),
                holdfast=str(holdfast)[:200],
                processor=str(theirs)[:200],
                message=message[:500],
            )
        )

    for payout in payouts.iterator(chunk_size=200):
        checked += 1
        try:
            transfer = processor.transfer_retrieve(payout.transfer.reference)
        except PaymentError as exc:
            differ(ReconciliationDifference.Kind.TRANSFER, payout, payout.transfer.reference, exc.code, exc.message)
            continue
        if transfer.amount.amount != payout.net:
            differ(
                ReconciliationDifference.Kind.TRANSFER,
                payout,
                format_money(payout.net, payout.currency),
                format_money(transfer.amount.amount, payout.currency),
                f"Transfer {transfer.reference} is for another amount than payout #{payout.pk}.",
            )
        returned = payout.status in (S.FAILED, S.CANCELLED)
        reversed_fully = transfer.amount_reversed.amount >= transfer.amount.amount
        if returned != reversed_fully and payout.transfer_id:
            differ(
                ReconciliationDifference.Kind.TRANSFER,
                payout,
                payout.get_status_display(),
                f"reversed {format_money(transfer.amount_reversed.amount, payout.currency)}",
                f"Payout #{payout.pk} is {payout.get_status_display().lower()} but its transfer is "
                + ("not reversed." if returned else "reversed."),
            )
        if payout.bank_payout_id and payout.status in AGREEING:
            try:
                bank = processor.bank_payout_retrieve(
                    account_reference=payout.account.reference, reference=payout.bank_payout.reference
                )
            except PaymentError as exc:
                differ(ReconciliationDifference.Kind.BANK_PAYOUT, payout, payout.status, exc.code, exc.message)
                continue
            if bank.status not in AGREEING[payout.status]:
                differ(
                    ReconciliationDifference.Kind.BANK_PAYOUT,
                    payout,
                    payout.status,
                    bank.status,
                    f"Payout #{payout.pk} is {payout.get_status_display().lower()} in Holdfast, "
                    f"{bank.status} at {processor.display_name}.",
                )
    # The platform's balance: what the ledger says is at the processor, less payouts whose
    # transfer left it but which are not paid yet, less the processor's fees.
    balance = processor.platform_balance()
    for currency in sorted(set(balance.available) | set(balance.pending)):
        at_processor = balance.available[currency].amount + balance.pending[currency].amount
        ledger = -account_balance(account=_processor_account(currency)) if _has_account(currency) else Decimal("0")
        in_flight = Payout.objects.filter(
            currency=currency, status__in=[S.PROCESSING, S.IN_TRANSIT], transfer__isnull=False
        ).aggregate(t=Sum("net"))["t"] or Decimal("0")
        if not at_processor and not ledger:
            continue
        fees = processor.fees_total(currency=currency).amount
        expected = ledger - in_flight - fees
        if expected != at_processor:
            differ(
                ReconciliationDifference.Kind.PLATFORM_BALANCE,
                None,
                format_money(expected, currency),
                format_money(at_processor, currency),
                f"The platform's {currency} balance at {processor.display_name} differs from the ledger by "
                f"{format_money(at_processor - expected, currency)} (ledger {format_money(ledger, currency)}, "
                f"in flight {format_money(in_flight, currency)}, fees {format_money(fees, currency)}).",
                currency=currency,
            )
    ReconciliationDifference.objects.bulk_create(differences)
    run.payouts_checked = checked
    run.differences = len(differences)
    run.finished_at = timezone.now()
    run.summary = f"{checked} payout(s) checked; " + (
        f"{len(differences)} difference(s) to look at." if differences else "Holdfast and the processor agree."
    )
    run.save()
    for item in differences:
        logger.error("Reconciliation difference: %s", item.message)
    return run


def _has_account(currency: str) -> bool:
    return LedgerAccount.objects.filter(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=currency).exists()


def _processor_account(currency: str) -> LedgerAccount:
    return LedgerAccount.objects.get(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=currency)
