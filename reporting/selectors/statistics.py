"""A user's statistics for a period: count, total, fees, average, status breakdown, monthly trend.

- As a **client**: the payments booked in the period (``funded_at``): ``total_amount`` is what was
  charged (service fee included), ``total_fees`` the service fees in it, ``total_refunded`` what
  went back of those payments (pending refunds included). A payment from the client's wallet is a
  payment like a card's (money paid for a task); a wallet top-up or withdrawal is not (the client's
  own money moving into or out of the wallet, not spending).
- As a **tasker**: the earnings paid in the period (escrows released, in full or as a split, by
  ``released_at``): ``total_amount`` is the net received in the wallet, ``total_fees`` the
  commission Holdfast kept, ``total_gross`` both together.

Each figure equals the ledger's (the funding entries, by card or from the wallet, into the client's escrows; the release
entries into the tasker's wallet) to the cent. One currency at a time: amounts in different
currencies are never added up. The queries read one user's escrows through the escrow table's
client and tasker indexes, so their cost follows that user's history, not the platform's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth

from accounts.models import User
from core.errors import ValidationError
from core.money import minor_unit, validate_currency
from payments import selectors as payments
from reporting.periods import Period, period_parse
from reporting.selectors.sources import CLIENT, ROLES, TASKER

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class StatsQuery:
    role: str
    period: Period
    currency: str


def stats_query_parse(params) -> StatsQuery:
    """``role`` (client, the default, or tasker), ``period`` (7d, 30d — the default —, 90d, 12m,
    custom with ``date_from`` and ``date_to``), ``currency`` (the platform's first by default)."""
    role = str(params.get("role") or CLIENT)
    if role not in ROLES:
        raise ValidationError("Choose the role client or tasker.", code="role_invalid", details={"allowed": ROLES})
    period = period_parse(params, default="30d")
    currency = validate_currency(str(params.get("currency") or settings.DEFAULT_CURRENCY))
    return StatsQuery(role=role, period=period, currency=currency)


def _escrows(user: User, query: StatsQuery) -> tuple[QuerySet, str]:
    period = query.period
    if query.role == CLIENT:
        escrows, at = payments.escrows_paid(client=user), "funded_at"
    else:
        escrows = payments.escrows_paid(tasker=user).filter(status__in=payments.RELEASED_STATUSES)
        at = "released_at"
    escrows = escrows.filter(currency=query.currency, **{f"{at}__gte": period.start, f"{at}__lt": period.end})
    return escrows, at


def user_statistics(*, user: User, query: StatsQuery) -> dict:
    """The figures of ``user`` for ``query`` (see the module's docstring for what each one counts)."""
    escrows, at = _escrows(user, query)
    if query.role == CLIENT:
        amount_field, fee_field = "client_total", "client_fee"
    else:
        amount_field, fee_field = "released_to_tasker", "commission"
    by_status = {
        row["status"]: row
        for row in escrows.values("status")
        .annotate(count=Count("id"), amount=Sum(amount_field), fees=Sum(fee_field), refunded=Sum("refunded_amount"))
        .order_by("status")
    }
    monthly = {
        row["month"].strftime("%Y-%m"): row
        for row in escrows.annotate(month=TruncMonth(at))
        .values("month")
        .annotate(count=Count("id"), amount=Sum(amount_field))
        .order_by("month")
    }
    count = sum(row["count"] for row in by_status.values())
    total_amount = sum((row["amount"] for row in by_status.values()), ZERO)
    total_fees = sum((row["fees"] for row in by_status.values()), ZERO)
    total_refunded = sum((row["refunded"] for row in by_status.values()), ZERO)
    if query.role == TASKER and total_refunded:
        # After a refund the commission shrank: those few escrows count what the release kept.
        for escrow in escrows.exclude(refunded_amount=0):
            total_fees += payments.escrow_fees_kept(escrow=escrow)[1] - escrow.commission
    figures = {
        "role": query.role,
        "currency": query.currency,
        "period": query.period.key,
        "date_from": query.period.date_from,
        "date_to": query.period.date_to,
        "total_payments": count,
        "total_amount": total_amount,
        "total_fees": total_fees,
        "average": (total_amount / count).quantize(minor_unit(query.currency), rounding=ROUND_HALF_UP)
        if count
        else ZERO,
        "status_breakdown": [
            {"status": status, "count": row["count"], "amount": row["amount"] or ZERO}
            for status, row in by_status.items()
        ],
        "monthly_trend": [
            {
                "month": month,
                "count": monthly.get(month, {}).get("count", 0),
                "amount": monthly.get(month, {}).get("amount") or ZERO,
            }
            for month in query.period.months()
        ],
    }
    if query.role == CLIENT:
        figures["total_refunded"] = total_refunded
    else:
        figures["total_gross"] = total_amount + total_fees
    return figures


def user_currencies(*, user: User) -> list[str]:
    """The currencies ``user`` has paid or earned in (the platform's first one at least)."""
    used = set(payments.escrows_paid(client=user).values_list("currency", flat=True).distinct())
    used |= set(payments.escrows_paid(tasker=user).values_list("currency", flat=True).distinct())
    return sorted(used | {settings.DEFAULT_CURRENCY})
