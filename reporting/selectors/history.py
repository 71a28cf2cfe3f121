"""Payment history: every payment, refund and returned payment of a client, every earning of a
tasker, in one list, newest first, with filters, search and pages.

Each kind of row comes from a **source**: a function returning a queryset of the lower app's rows,
annotated to the same columns (``COLUMNS``). The sources' querysets are filtered alike and combined
with ``UNION ALL`` in PostgreSQL, so a page, a count or a CSV export is one query however many
sources there are. Adding a source is registering it::

    history_source_register(HistorySource(kind="payout", label="Payout", role=TASKER,
                                          statuses=Payout.Status.choices, rows=payout_rows))

where ``payout_rows(user)`` returns the payouts app's rows (``payouts.selectors``) as
``.values(**columns(...))`` — see ``reporting/apps.py``, where the built-in sources are registered.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from django.db.models import (
    Case,
    CharField,
    DecimalField,
    Expression,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.urls import reverse

from accounts.models import User
from core.errors import ValidationError
from core.money import AMOUNT_PATTERN, validate_currency
from payments import selectors as payments
from payments.models import Escrow, EscrowRefund, WalletTopUp, WalletWithdrawal
from payouts import selectors as payouts
from payouts.models import Payout
from processors.selectors import payment_cards
from reporting.periods import Period, period_parse

CLIENT = "client"
TASKER = "tasker"
ROLES = (CLIENT, TASKER)
ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=18, decimal_places=2)
TEXT = CharField()

# The columns every source gives, in this order (UNION ALL matches columns by position).
COLUMNS = (
    "h_kind",
    "h_id",
    "h_at",
    "h_escrow",
    "h_task",
    "h_title",
    "h_currency",
    "h_amount",
    "h_fee",
    "h_net",
    "h_refunded",
    "h_status",
    "h_reference",
    "h_charge",
    "h_client_email",
    "h_tasker_email",
    "h_method",  # how the money moved when not a card: "wallet", or "bank:<last4>" (a payout)
)


def columns(**expressions: Expression | str) -> dict[str, Expression]:
    """A source's ``values()`` arguments in ``COLUMNS`` order; plain strings are field paths, and a
    column left out is blank (text) or zero (money)."""
    missing = set(expressions) - set(COLUMNS)
    if missing:
        raise ValueError(f"Unknown history columns: {sorted(missing)}")
    money = {"h_amount", "h_fee", "h_net", "h_refunded"}
    result: dict[str, Expression] = {}
    for name in COLUMNS:
        value = expressions.get(name)
        if value is None:
            value = Value(ZERO, output_field=MONEY) if name in money else Value("", output_field=TEXT)
            if name in ("h_escrow", "h_task"):
                value = Value(None, output_field=IntegerField())
        elif isinstance(value, str):
            value = F(value)
        if name in money:
            value = Cast(value, MONEY)
        elif name in (
            "h_title",
            "h_status",
            "h_reference",
            "h_charge",
            "h_currency",
            "h_client_email",
            "h_tasker_email",
            "h_method",
        ):
            value = Cast(value, TEXT)
        result[name] = value
    return result


@dataclass(frozen=True)
class HistorySource:
    kind: str  # payment, refund, returned, earning, payout, ...
    label: str
    role: str  # whose history it belongs to: CLIENT or TASKER
    statuses: tuple[tuple[str, str], ...]  # (value, label) its rows can have
    rows: Callable[[User | None], QuerySet]  # ``.values(**columns(...))``; ``None``: everyone's (staff)


_SOURCES: dict[str, HistorySource] = {}


def history_source_register(source: HistorySource) -> None:
    """Add a kind of row to every history (registering a kind again replaces it)."""
    _SOURCES[source.kind] = source


def history_source_unregister(kind: str) -> None:
    _SOURCES.pop(kind, None)


def history_sources() -> list[HistorySource]:
    return list(_SOURCES.values())


# --- the built-in sources (registered in ReportingConfig.ready) -------------------------------


def payment_rows(user: User | None) -> QuerySet:
    """A client's card payments into escrows: what was charged, the fee in it, the escrow's status."""
    return payments.escrows_paid(client=user).values(
        **columns(
            h_kind=Value("payment"),
            h_id="pk",
            h_at="funded_at",
            h_escrow="pk",
            h_task="task_id",
            h_title="task__title",
            h_currency="currency",
            h_amount="client_total",
            h_fee="client_fee",
            h_net="amount",
            h_refunded="refunded_amount",
            h_status="status",
            h_reference="payment__reference",
            h_charge="payment__charge_reference",
            h_client_email="client__email",
            h_tasker_email="tasker__email",
            h_method=_wallet_if(""),
        )
    )


def _wallet_if(prefix: str) -> Case:
    """``"wallet"`` for an escrow paid from the client's wallet (no card, no charge)."""
    wallet = Escrow.FundingSource.WALLET
    return Case(When(**{f"{prefix}funding_source": wallet}, then=Value("wallet")), default=Value(""), output_field=TEXT)


def refund_rows(user: User | None) -> QuerySet:
    """Refunds to a client: pending, succeeded, or failed (a failed one moved no money in the end)."""
    return payments.escrow_refunds(client=user).values(
        **columns(
            h_kind=Value("refund"),
            h_id="pk",
            h_at="created_at",
            h_escrow="escrow_id",
            h_task="escrow__task_id",
            h_title="escrow__task__title",
            h_currency="escrow__currency",
            h_amount="amount",
            h_net="amount",
            h_status="status",
            h_reference="processor_reference",
            h_charge="escrow__payment__charge_reference",
            h_client_email="escrow__client__email",
            h_tasker_email="escrow__tasker__email",
            h_method=_wallet_if("escrow__"),
        )
    )


def returned_rows(user: User | None) -> QuerySet:
    """Payments the processor handed straight back (a second payment for a paid escrow)."""
    escrow = Escrow.objects.filter(pk=Cast(OuterRef("subject_id"), IntegerField()))
    return payments.escrow_returned_payments(client=user).values(
        **columns(
            h_kind=Value("returned"),
            h_id="pk",
            h_at="created_at",
            h_escrow=Cast("subject_id", IntegerField()),
            h_task=_subquery(escrow.values("task_id")),
            h_title=_subquery(escrow.values("task__title")),
            h_currency="currency",
            h_amount="amount",
            h_net="amount",
            h_status=Value("returned"),
            h_reference="reference",
            h_charge="charge_reference",
            h_client_email=_subquery(escrow.values("client__email")),
            h_tasker_email=_subquery(escrow.values("tasker__email")),
        )
    )


def earning_rows(user: User | None) -> QuerySet:
    """A tasker's earnings per task: the agreed amount, the commission, the net (paid, or to come
    while the money is held; none once refunded)."""
    status = Escrow.Status
    net = Case(
        When(status__in=payments.RELEASED_STATUSES, then=F("released_to_tasker")),
        When(status__in=(status.FUNDED, status.DISPUTED), then=F("tasker_net")),
        default=Value(ZERO),
        output_field=MONEY,
    )
    return payments.escrows_paid(tasker=user).values(
        **columns(
            h_kind=Value("earning"),
            h_id="pk",
            h_at=Coalesce("released_at", "funded_at"),
            h_escrow="pk",
            h_task="task_id",
            h_title="task__title",
            h_currency="currency",
            h_amount="amount",
            h_fee="commission",
            h_net=net,
            h_refunded="refunded_amount",
            h_status="status",
            h_client_email="client__email",
            h_tasker_email="tasker__email",
        )
    )


def payout_rows(user: User | None) -> QuerySet:
    """A tasker's payouts to their bank (any status): taken from the wallet, the fee, the net sent,
    the Stripe transfer (``tr_…``) and bank payout (``po_…``) references."""
    return payouts.payouts_for_history(tasker=user).values(
        **columns(
            h_kind=Value("payout"),
            h_id="pk",
            h_at="requested_at",
            h_title=Concat(Value("Payout to "), Coalesce(F("account__bank_name"), Value("")), output_field=TEXT),
            h_currency="currency",
            h_amount="amount",
            h_fee="fee",
            h_net="net",
            h_status="status",
            h_reference=Coalesce(F("transfer__reference"), Value("")),
            h_charge=Coalesce(F("bank_payout__reference"), Value("")),
            h_tasker_email="tasker__email",
            h_method=Concat(Value("bank:"), F("account__bank_last4"), output_field=TEXT),
        )
    )


def top_up_rows(user: User | None) -> QuerySet:
    """A client's wallet top-ups paid by card (what reached the wallet; ``refunded``: withdrawn back)."""
    return payments.top_ups_funded(client=user).values(
        **columns(
            h_kind=Value("top_up"),
            h_id="pk",
            h_at="funded_at",
            h_title=Value("Wallet top-up"),
            h_currency="currency",
            h_amount="amount",
            h_net="amount",
            h_refunded="withdrawn_amount",
            h_status="status",
            h_reference=Coalesce(F("payment__reference"), Value("")),
            h_charge=Coalesce(F("payment__charge_reference"), Value("")),
            h_client_email="client__email",
        )
    )


def withdrawal_rows(user: User | None) -> QuerySet:
    """Money a client took out of the wallet, back to the card of the top-up it came from."""
    return payments.wallet_withdrawals(client=user).values(
        **columns(
            h_kind=Value("withdrawal"),
            h_id="pk",
            h_at="created_at",
            h_title=Value("Wallet withdrawal to card"),
            h_currency="top_up__currency",
            h_amount="amount",
            h_net="amount",
            h_status="status",
            h_reference="processor_reference",
            h_charge=Coalesce(F("top_up__payment__charge_reference"), Value("")),
            h_client_email="top_up__client__email",
        )
    )


def _subquery(queryset: QuerySet) -> Subquery:
    return Subquery(queryset[:1])


ESCROW_STATUSES = tuple(Escrow.Status.choices)
REFUND_STATUSES = tuple(EscrowRefund.Status.choices)
BUILT_IN_SOURCES = (
    HistorySource("payment", "Payment", CLIENT, ESCROW_STATUSES, payment_rows),
    HistorySource("refund", "Refund", CLIENT, REFUND_STATUSES, refund_rows),
    HistorySource("returned", "Returned payment", CLIENT, (("returned", "Returned"),), returned_rows),
    HistorySource("earning", "Earning", TASKER, ESCROW_STATUSES, earning_rows),
    HistorySource("top_up", "Wallet top-up", CLIENT, tuple(WalletTopUp.Status.choices), top_up_rows),
    HistorySource("withdrawal", "Wallet withdrawal", CLIENT, tuple(WalletWithdrawal.Status.choices), withdrawal_rows),
)
# Registered in ReportingConfig.ready with the built-in ones.
PAYOUT_SOURCE = HistorySource("payout", "Payout", TASKER, tuple(Payout.Status.choices), payout_rows)


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
