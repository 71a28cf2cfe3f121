"""Payment history: filters, the one ``UNION ALL`` query, the rows people read, and the CSV.

Every payment, refund and returned payment of a client, every earning of a tasker, in one list,
newest first, with filters, search and pages. Each kind of row comes from a source
(``reporting/selectors/sources.py``); the sources' querysets are filtered alike and combined with
``UNION ALL`` in PostgreSQL, so a page, a count or a CSV export is one query however many sources
there are.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from django.db.models import Q, QuerySet
from django.urls import reverse

from accounts.models import User
from core.errors import ValidationError
from core.money import AMOUNT_PATTERN, validate_currency
from payments import selectors as payments
from payments.models import EscrowRefund, WalletTopUp
from processors.selectors import payment_cards
from reporting.periods import Period, period_parse

# The sources' names, still importable from here (``from reporting.selectors.history import …``).
from reporting.selectors.sources import BUILT_IN_SOURCES as BUILT_IN_SOURCES
from reporting.selectors.sources import CLIENT as CLIENT
from reporting.selectors.sources import COLUMNS as COLUMNS
from reporting.selectors.sources import PAYOUT_SOURCE as PAYOUT_SOURCE
from reporting.selectors.sources import ROLES as ROLES
from reporting.selectors.sources import TASKER as TASKER
from reporting.selectors.sources import HistorySource as HistorySource
from reporting.selectors.sources import columns as columns
from reporting.selectors.sources import history_source_register as history_source_register
from reporting.selectors.sources import history_source_unregister as history_source_unregister
from reporting.selectors.sources import history_sources as history_sources
from reporting.selectors.sources import payment_rows as payment_rows

# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFilters:
    period: Period = field(default_factory=lambda: Period("all", None, None))
    role: str = ""
    kind: str = ""
    status: str = ""
    currency: str = ""
    q: str = ""
    # Staff search only
    amount: Decimal | None = None
    reference: str = ""
    email: str = ""
    task: str = ""

    def as_query(self) -> dict[str, str]:
        query = {
            "role": self.role,
            "kind": self.kind,
            "status": self.status,
            "currency": self.currency,
            "q": self.q,
            "amount": "" if self.amount is None else str(self.amount),
            "reference": self.reference,
            "email": self.email,
            "task": self.task,
        }
        if self.period.key != "all":
            query["period"] = self.period.key
        if self.period.key in ("custom", "all"):
            query["date_from"] = self.period.date_from.isoformat() if self.period.date_from else ""
            query["date_to"] = self.period.date_to.isoformat() if self.period.date_to else ""
        return {k: v for k, v in query.items() if v}


def history_filters_parse(params, *, staff: bool = False) -> HistoryFilters:
    """Check a history query (page, CSV or API): every refusal is a ``ValidationError`` with its code."""
    period = period_parse(params, allow_all=True, default="all")
    role = str(params.get("role") or "")
    if role and role not in ROLES:
        raise ValidationError("Choose the role client or tasker.", code="role_invalid", details={"allowed": ROLES})
    kinds = [s.kind for s in history_sources()]
    kind = str(params.get("kind") or "")
    if kind and kind not in kinds:
        raise ValidationError(f"Choose a kind: {', '.join(kinds)}.", code="kind_invalid", details={"allowed": kinds})
    statuses = history_statuses()
    status = str(params.get("status") or "")
    if status and status not in dict(statuses):
        allowed = [value for value, _ in statuses]
        raise ValidationError(
            f"Choose a status: {', '.join(allowed)}.", code="status_invalid", details={"allowed": allowed}
        )
    currency = str(params.get("currency") or "")
    if currency:
        currency = validate_currency(currency)
    q = str(params.get("q") or "").strip()
    if len(q) > 200 or "\x00" in q:
        raise ValidationError("Search for at most 200 characters.", code="search_invalid")
    filters = HistoryFilters(period=period, role=role, kind=kind, status=status, currency=currency, q=q)
    if not staff:
        return filters
    amount = None
    raw_amount = str(params.get("amount") or "").strip()
    if raw_amount:
        try:
            if not re.fullmatch(AMOUNT_PATTERN, raw_amount):
                raise InvalidOperation(raw_amount)
            amount = Decimal(raw_amount)
        except InvalidOperation:
            raise ValidationError('Give the amount like "120.00".', code="amount_invalid") from None
    texts = {name: str(params.get(name) or "").strip()[:200] for name in ("reference", "email", "task")}
    return replace(filters, amount=amount, **texts)


def history_statuses() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for source in history_sources():
        for value, label in source.statuses:
            seen.setdefault(value, label)
    return list(seen.items())


def _filtered(rows: QuerySet, filters: HistoryFilters) -> QuerySet:
    period = filters.period
    if period.start:
        rows = rows.filter(h_at__gte=period.start)
    if period.end:
        rows = rows.filter(h_at__lt=period.end)
    if filters.status:
        rows = rows.filter(h_status=filters.status)
    if filters.currency:
        rows = rows.filter(h_currency=filters.currency)
    if filters.q:
        match = Q(h_title__icontains=filters.q) | Q(h_reference__iexact=filters.q) | Q(h_charge__iexact=filters.q)
        number = filters.q.lstrip("#")
        if number.isdigit() and len(number) < 10:
            match |= Q(h_escrow=int(number)) | Q(h_task=int(number))
        rows = rows.filter(match)
    if filters.amount is not None:
        rows = rows.filter(h_amount=filters.amount)
    if filters.reference:
        rows = rows.filter(Q(h_reference__iexact=filters.reference) | Q(h_charge__iexact=filters.reference))
    if filters.email:
        rows = rows.filter(Q(h_client_email__iexact=filters.email) | Q(h_tasker_email__iexact=filters.email))
    if filters.task:
        task = filters.task.lstrip("#")
        rows = rows.filter(Q(h_task=int(task)) if task.isdigit() and len(task) < 10 else Q(h_title__icontains=task))
    return rows


def history_queryset(*, user: User | None, filters: HistoryFilters) -> QuerySet:
    """Every matching row of ``user``'s history (``None``: everyone's, for staff), newest first,
    as one ``UNION ALL`` query of dicts keyed by ``COLUMNS``."""
    parts = [
        _filtered(source.rows(user), filters)
        for source in history_sources()
        if (not filters.role or source.role == filters.role) and (not filters.kind or source.kind == filters.kind)
    ]
    if not parts:
        return payment_rows(user).none()
    combined = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:], all=True)
    return combined.order_by("-h_at", "-h_kind", "-h_id")


@dataclass(frozen=True)
class HistoryRow:
    kind: str
    kind_label: str
    id: int
    occurred_at: dt.datetime
    escrow_id: int | None
    task_id: int | None
    title: str
    task_url: str
    currency: str
    amount: Decimal  # payment: charged; refund/returned: given back; earning: the work's amount
    fee: Decimal  # payment: the service fee in it; earning: Holdfast's commission
    net: Decimal  # payment: the work's amount; earning: what the tasker gets
    refunded: Decimal
    status: str
    status_label: str
    reference: str
    charge_reference: str
    card_brand: str = ""
    card_last4: str = ""
    receipt_url: str = ""
    method_code: str = ""  # "wallet", "bank:<last4>", or "" (a card, or nothing)
    detail_url: str = ""  # a payout's or a top-up's own page (rows without a task)

    @property
    def link(self) -> str:
        return self.task_url or self.detail_url

    @property
    def card(self) -> str:
        return f"{self.card_brand.title()} •••• {self.card_last4}" if self.card_last4 else ""

    @property
    def method(self) -> str:
        """How the money moved, in words: the card, "Wallet" (paid from or refunded to it), or the bank."""
        if self.method_code == "wallet":
            return "Wallet"
        if self.method_code.startswith("bank:"):
            last4 = self.method_code[5:]
            return f"Bank •••• {last4}" if last4 else "Bank"
        return self.card


def history_rows(rows: list[dict]) -> list[HistoryRow]:
    """A page of ``history_queryset`` as rows people read: labels, links, the card used, receipts,
    and for earnings after a refund the commission Holdfast actually kept."""
    sources = {s.kind: s for s in history_sources()}
    cards = payment_cards(charge_references=[r["h_charge"] for r in rows if r["h_charge"]])
    adjusted = {
        r["h_escrow"]
        for r in rows
        if r["h_kind"] == "earning" and r["h_refunded"] and r["h_status"] in payments.RELEASED_STATUSES
    }
    kept = {e.pk: payments.escrow_fees_kept(escrow=e) for e in payments.escrows_paid().filter(pk__in=adjusted)}
    result = []
    for r in rows:
        source = sources.get(r["h_kind"])
        amount, fee = r["h_amount"], r["h_fee"]
        if r["h_kind"] == "earning" and r["h_escrow"] in kept:
            fee = kept[r["h_escrow"]][1]
            amount = r["h_net"] + fee
        carded = r["h_kind"] in ("payment", "refund", "returned", "top_up", "withdrawal") and not r["h_method"]
        card = cards.get(r["h_charge"]) if carded and r["h_charge"] else None
        result.append(
            HistoryRow(
                kind=r["h_kind"],
                kind_label=source.label if source else r["h_kind"],
                id=r["h_id"],
                occurred_at=r["h_at"],
                escrow_id=r["h_escrow"],
                task_id=r["h_task"],
                title=r["h_title"] or "",
                task_url=reverse("marketplace:task_detail", kwargs={"pk": r["h_task"]}) if r["h_task"] else "",
                currency=r["h_currency"],
                amount=amount,
                fee=fee,
                net=r["h_net"],
                refunded=r["h_refunded"],
                status=r["h_status"],
                status_label=dict(source.statuses).get(r["h_status"], r["h_status"]) if source else r["h_status"],
                reference=r["h_reference"] or "",
                charge_reference=r["h_charge"] or "",
                card_brand=card.brand if card else "",
                card_last4=card.last4 if card else "",
                receipt_url=_receipt_url(r),
                method_code=r["h_method"] or "",
                detail_url=_detail_url(r),
            )
        )
    return result


DETAIL_PAGES = {"payout": "payouts:detail", "top_up": "payments:top_up"}


def _detail_url(row: dict) -> str:
    if row["h_kind"] not in DETAIL_PAGES:
        return ""
    return reverse(DETAIL_PAGES[row["h_kind"]], args=[row["h_id"]])


def _receipt_url(row: dict) -> str:
    if row["h_kind"] == "payment":
        return reverse("reporting:payment_receipt", kwargs={"escrow_id": row["h_id"]})
    if row["h_kind"] == "refund" and row["h_status"] == EscrowRefund.Status.SUCCEEDED:
        return reverse("reporting:refund_receipt", kwargs={"refund_id": row["h_id"]})
    if row["h_kind"] == "top_up" and row["h_status"] == WalletTopUp.Status.SUCCEEDED:
        return reverse("reporting:top_up_receipt", kwargs={"top_up_id": row["h_id"]})
    return ""


CSV_HEADER = [
    "date",
    "kind",
    "id",
    "escrow",
    "task",
    "currency",
    "amount",
    "fee",
    "net",
    "status",
    "reference",
    "charge",
    "card",
    "method",
]


def history_csv_lines(queryset: QuerySet, *, chunk: int = 500):
    """The CSV rows of a whole filtered history, a chunk at a time (for a streamed download)."""
    yield CSV_HEADER
    offset = 0
    while True:
        page = list(queryset[offset : offset + chunk])
        if not page:
            return
        for row in history_rows(page):
            yield [
                row.occurred_at.isoformat(),
                row.kind,
                row.id,
                row.escrow_id or "",
                row.title,
                row.currency,
                row.amount,
                row.fee,
                row.net,
                row.status,
                row.reference,
                row.charge_reference,
                row.card,
                row.method,
            ]
        offset += chunk
