"""Reads for reporting (history, statistics, revenue): paid escrows, refunds, fees kept, money held."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import CharField, QuerySet, Sum
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from accounts.models import User
from core.money import quantize
from payments.models import Escrow, EscrowRefund
from processors.models import ProcessorTransaction
from processors.selectors import transactions_about

Tx = ProcessorTransaction.Kind

RELEASED_STATUSES = (Escrow.Status.RELEASED, Escrow.Status.SPLIT)


def escrows_paid(*, client: User | None = None, tasker: User | None = None) -> QuerySet[Escrow]:
    """Escrows whose payment was booked (``funded_at`` set), of one client and/or tasker (``None``: all)."""
    escrows = Escrow.objects.filter(funded_at__isnull=False)
    if client is not None:
        escrows = escrows.filter(client=client)
    if tasker is not None:
        escrows = escrows.filter(tasker=tasker)
    return escrows


def escrow_refunds(*, client: User | None = None) -> QuerySet[EscrowRefund]:
    """Refunds to clients (pending, succeeded or failed), of one client's escrows (``None``: all)."""
    refunds = EscrowRefund.objects.all()
    if client is not None:
        refunds = refunds.filter(escrow__client=client)
    return refunds


def escrow_returned_payments(*, client: User | None = None) -> QuerySet[ProcessorTransaction]:
    """Payments handed straight back at the processor (a second payment for an escrow already paid,
    or one of another amount). They never entered the ledger: the money did not stay with Holdfast."""
    returned = transactions_about(model=Escrow, kinds=[Tx.PAYMENT_RETURNED])
    if client is not None:
        ids = Escrow.objects.filter(client=client).annotate(key=Cast("pk", CharField())).values("key")
        returned = returned.filter(subject_id__in=ids)
    return returned


def escrow_fees_kept(*, escrow: Escrow) -> tuple[Decimal, Decimal]:
    """(client fee, commission) Holdfast kept at the release of ``escrow``, after any refund.

    ``payments.fees.release_split``'s rule: a refund takes its share of the client fee
    (``client_fee * refunded / client_total``, half-up); the commission kept is what the release
    paid to fee revenue beyond that fee. Without a refund: the escrow's own fee and commission.
    """
    if escrow.status not in RELEASED_STATUSES:
        return Decimal("0.00"), Decimal("0.00")
    if not escrow.refunded_amount:
        return escrow.client_fee, escrow.commission
    fee_kept = escrow.client_fee - quantize(
        escrow.client_fee * escrow.refunded_amount / escrow.client_total, escrow.currency
    )
    revenue = escrow.client_total - escrow.refunded_amount - escrow.released_to_tasker
    return fee_kept, revenue - fee_kept


def escrow_client_fees_kept(*, since: datetime, until: datetime | None) -> dict[tuple, Decimal]:
    """Client fees kept by releases in ``[since, until)``, per (day of ``TIME_ZONE``, currency).

    With the fee revenue account's postings this splits revenue into client fees and commissions.
    Escrows released without a refund are summed in SQL; the few with one follow
    ``escrow_fees_kept``.
    """
    released = Escrow.objects.filter(status__in=RELEASED_STATUSES, released_at__gte=since)
    if until is not None:
        released = released.filter(released_at__lt=until)
    kept: dict[tuple, Decimal] = {}
    for row in (
        released.filter(refunded_amount=0)
        .annotate(day=TruncDate("released_at"))
        .values("day", "currency")
        .annotate(total=Sum("client_fee"))
    ):
        kept[(row["day"], row["currency"])] = row["total"]
    for escrow in released.exclude(refunded_amount=0):
        key = (timezone.localdate(escrow.released_at), escrow.currency)
        kept[key] = kept.get(key, Decimal("0.00")) + escrow_fees_kept(escrow=escrow)[0]
    return kept


ESCROW_HELD_BY_STATUS_SQL = """
    SELECT status, currency, coalesce(sum(client_total - refunded_amount), 0.00), count(*)
      FROM payments_escrow
     WHERE funded_at IS NOT NULL AND status IN ('funded', 'disputed', 'cancelled')
     GROUP BY 1, 2 ORDER BY 1, 2"""


def escrow_held_by_status() -> list[tuple[str, str, Decimal, int]]:
    """What escrows hold now, per escrow status and currency: (status, currency, amount, escrows).

    Only paid escrows that are funded, disputed, or cancelled while their late payment is refunded
    hold money, ``client_total - refunded_amount``: the ledger check ``escrow_balance_mismatch``
    proves each such escrow's ledger account holds exactly that (and every other one nothing).
    Read from the escrow rows through their status index: joining each to its ledger account costs
    one index lookup per held escrow (half a second for 40,000), the rows alone a few milliseconds.
    """
    with connection.cursor() as cursor:
        cursor.execute(ESCROW_HELD_BY_STATUS_SQL)
        return [(status, currency, amount, count) for status, currency, amount, count in cursor.fetchall()]
