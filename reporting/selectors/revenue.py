"""The platform's revenue dashboard, from the ledger: per day or month and currency.

Every figure is a signed sum of ledger postings (``wallets.selectors.LedgerFlow``):

- gross volume: what clients paid for tasks: minus the processor balance's side of card fundings,
  plus the escrows' side of payments from wallets (``wallet_payment``);
  of which from wallets: that escrow side alone.
- refunds: the processor balance's and the client wallets' side of refund entries (a failed
  refund's reversal cancels its reservation); of which to wallets: refunds of escrows paid from
  the wallet, back in the wallet at once.
- fee revenue: the platform fee revenue account (client fees, commissions and payout fees).
- client fees / commissions / payout fees: fee revenue split: the releases' client fees kept
  (``FeeDay``), the fee revenue's side of payout and payout-reversal entries (a failed payout's fee
  is given back), and the commission is the rest.
- chargeback losses: minus the chargeback losses account (what banks took, less what came back
  from escrows, from taskers' wallets or from won disputes).
- taken by banks: the processor balance's side of chargeback and chargeback-reversal entries
  (amount and fee, less what was reinstated).
- payouts: minus the user wallets' side of payout and payout-reversal entries (what left taskers'
  wallets, fee included); paid out to banks: the processor balance's side of ``payout_paid``
  entries (the net the banks received).
- wallet top-ups: minus the processor balance's side of ``wallet_top_up`` entries (card money into
  clients' wallets: not spending); wallet withdrawals: its side of ``wallet_withdrawal`` entries
  (back to the cards; a failed one's reversal cancels it).
- escrow movement: the escrow accounts (in minus out); held in escrow at the end of a day is their
  running sum.

Rows are read from the roll-up (``LedgerDay``, ``FeeDay``: everything made before
``RollupState.covered_until``) plus the postings since, read live, so the answer is exact at any
moment whether or not the beat job has run; the beat job only keeps the live part small.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from payments import selectors as payments
from reporting.models import FeeDay, LedgerDay, RollupState
from reporting.periods import Period
from wallets.models import JournalEntry, LedgerAccount
from wallets.selectors import LedgerFlow, ledger_flows

ZERO = Decimal("0.00")
Account = LedgerAccount.Kind
Entry = JournalEntry.Kind
DAY = "day"
MONTH = "month"
GRANULARITIES = (DAY, MONTH)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

FIGURES = (
    ("gross_volume", "Gross volume"),
    ("client_fees", "Client fees"),
    ("commissions", "Commissions"),
    ("fee_revenue", "Fee revenue"),
    ("refunds", "Refunds"),
    ("chargebacks", "Chargebacks"),
    ("payouts", "Payouts"),
    ("escrow_in", "Into escrow"),
    ("escrow_out", "Out of escrow"),
    ("paid_from_wallets", "Of gross volume: paid from wallets"),
    ("refunds_to_wallets", "Of refunds: to wallets"),
    ("payout_fees", "Payout fees"),
    ("chargebacks_withdrawn", "Taken by banks (chargebacks)"),
    ("payouts_paid", "Paid out to banks"),
    ("wallet_top_ups", "Wallet top-ups"),
    ("wallet_withdrawals", "Wallet withdrawals"),
)
CHART_FIGURES = FIGURES[:7]  # the charts: volume, fees, refunds, chargebacks, payouts


def _figures_of(flow: LedgerFlow) -> dict[str, Decimal]:
    """What one flow adds to each figure."""
    out: dict[str, Decimal] = {}
    account, entry, amount = flow.account_kind, flow.entry_kind, flow.amount
    if account == Account.PROCESSOR_BALANCE:
        if entry == Entry.ESCROW_FUNDING:
            out["gross_volume"] = -amount
        elif entry == Entry.ESCROW_REFUND:
            out["refunds"] = amount
        elif entry in (Entry.CHARGEBACK, Entry.CHARGEBACK_REVERSAL):
            out["chargebacks_withdrawn"] = amount
        elif entry == Entry.PAYOUT_PAID:
            out["payouts_paid"] = amount
        elif entry == Entry.WALLET_TOP_UP:
            out["wallet_top_ups"] = -amount
        elif entry == Entry.WALLET_WITHDRAWAL:
            out["wallet_withdrawals"] = amount
    elif account == Account.PLATFORM_FEE_REVENUE:
        out["fee_revenue"] = amount
        if entry in (Entry.PAYOUT, Entry.PAYOUT_REVERSAL):
            out["payout_fees"] = amount
    elif account == Account.CHARGEBACK_LOSSES:
        out["chargebacks"] = -amount
    elif account == Account.USER_WALLET:
        if entry in (Entry.PAYOUT, Entry.PAYOUT_REVERSAL):
            out["payouts"] = -amount
        elif entry == Entry.ESCROW_REFUND:  # a refund of an escrow paid from the wallet
            out["refunds"] = out["refunds_to_wallets"] = amount
    elif account == Account.ESCROW:
        # Net per day: funding in, release and refund out.
        if amount > 0:
            out["escrow_in"] = amount
        else:
            out["escrow_out"] = -amount
        if entry == Entry.WALLET_PAYMENT:
            out["gross_volume"] = out["paid_from_wallets"] = amount
    return out


@dataclass
class RevenueRow:
    period: str  # YYYY-MM-DD or YYYY-MM
    currency: str
    gross_volume: Decimal = ZERO
    client_fees: Decimal = ZERO
    commissions: Decimal = ZERO
    fee_revenue: Decimal = ZERO
    refunds: Decimal = ZERO
    chargebacks: Decimal = ZERO
    payouts: Decimal = ZERO
    escrow_in: Decimal = ZERO
    escrow_out: Decimal = ZERO
    paid_from_wallets: Decimal = ZERO
    refunds_to_wallets: Decimal = ZERO
    payout_fees: Decimal = ZERO
    chargebacks_withdrawn: Decimal = ZERO
    payouts_paid: Decimal = ZERO
    wallet_top_ups: Decimal = ZERO
    wallet_withdrawals: Decimal = ZERO
    held_in_escrow: Decimal = ZERO  # at the end of the period

    def add(self, name: str, amount: Decimal) -> None:
        setattr(self, name, getattr(self, name) + amount)

    @property
    def figures(self) -> list[tuple[str, Decimal]]:
        """(name, amount) in ``FIGURES`` order, for tables."""
        return [(name, getattr(self, name)) for name, _label in FIGURES]


@dataclass
class Dashboard:
    period: Period
    granularity: str
    currencies: list[str]
    rows: list[RevenueRow]  # per period and currency, oldest first
    totals: dict[str, RevenueRow]  # per currency, over the whole period
    held_by_status: list[dict]  # now: {status, currency, amount, escrows}
    payouts_in_transit: dict[str, Decimal]  # now, per currency
    covered_until: dt.datetime | None
    notes: list[str] = field(default_factory=list)


def _rollup_flows(*, date_from: dt.date | None, date_to: dt.date | None) -> Iterable[LedgerFlow]:
    days = LedgerDay.objects.all()
    if date_from:
        days = days.filter(day__gte=date_from)
    if date_to:
        days = days.filter(day__lte=date_to)
    for row in days.values_list("day", "currency", "account_kind", "entry_kind", "amount", "postings"):
        yield LedgerFlow(*row)


def _rollup_fees(*, date_from: dt.date | None, date_to: dt.date | None) -> dict[tuple, Decimal]:
    days = FeeDay.objects.all()
    if date_from:
        days = days.filter(day__gte=date_from)
    if date_to:
        days = days.filter(day__lte=date_to)
    return {(day, currency): amount for day, currency, amount in days.values_list("day", "currency", "client_fees")}


def rollup_covered_until() -> dt.datetime | None:
    return RollupState.objects.filter(pk=1).values_list("covered_until", flat=True).first()


def _in(day: dt.date, period: Period) -> bool:
    return (period.date_from is None or day >= period.date_from) and (period.date_to is None or day <= period.date_to)


def platform_dashboard(*, period: Period, granularity: str = DAY, currency: str = "") -> Dashboard:
    """The revenue figures of ``period`` per day or month (``granularity``) and currency
    (``currency``: one, or every currency with activity), exact to the cent (see the module)."""
    covered = rollup_covered_until()
    # The live part: everything since the roll-up's end, read once (a few minutes of postings).
    live = ledger_flows(since=covered or EPOCH)
    live_fees = payments.escrow_client_fees_kept(since=covered or EPOCH, until=None)
    flows = [
        *_rollup_flows(date_from=period.date_from, date_to=period.date_to),
        *(f for f in live if _in(f.day, period)),
    ]
    fees = _rollup_fees(date_from=period.date_from, date_to=period.date_to)
    for key, amount in live_fees.items():
        if _in(key[0], period):
            fees[key] = fees.get(key, ZERO) + amount
    if currency:
        flows = [f for f in flows if f.currency == currency]
        fees = {k: v for k, v in fees.items() if k[1] == currency}

    def bucket(day: dt.date) -> str:
        return day.isoformat() if granularity == DAY else day.strftime("%Y-%m")

    rows: dict[tuple[str, str], RevenueRow] = {}
    currencies = sorted({f.currency for f in flows} | {k[1] for k in fees} | ({currency} if currency else set()))
    for b in sorted({bucket(d) for d in period.days()}):
        for c in currencies:
            rows[(b, c)] = RevenueRow(b, c)
    for flow in flows:
        row = rows.setdefault((bucket(flow.day), flow.currency), RevenueRow(bucket(flow.day), flow.currency))
        for name, amount in _figures_of(flow).items():
            row.add(name, amount)
    for (day, cur), amount in fees.items():
        rows.setdefault((bucket(day), cur), RevenueRow(bucket(day), cur)).add("client_fees", amount)
    for row in rows.values():
        row.commissions = row.fee_revenue - row.client_fees - row.payout_fees

    # Held in escrow at the end of each period: what was held before it, plus each period's movement.
    held = _held_before(period.date_from, live) if period.date_from else {}
    ordered = sorted(rows.values(), key=lambda r: (r.period, r.currency))
    for row in ordered:
        held[row.currency] = held.get(row.currency, ZERO) + row.escrow_in - row.escrow_out
        row.held_in_escrow = held[row.currency]

    totals: dict[str, RevenueRow] = {}
    for row in ordered:
        total = totals.setdefault(row.currency, RevenueRow("total", row.currency))
        for name, _label in FIGURES:
            total.add(name, getattr(row, name))
        total.held_in_escrow = row.held_in_escrow

    held_by_status = [
        {"status": status, "currency": cur, "amount": amount, "escrows": count}
        for status, cur, amount, count in payments.escrow_held_by_status()
        if not currency or cur == currency
    ]
    in_transit = _payouts_in_transit(live)
    return Dashboard(
        period=period,
        granularity=granularity,
        currencies=currencies,
        rows=ordered,
        totals=totals,
        held_by_status=held_by_status,
        payouts_in_transit={c: v for c, v in in_transit.items() if not currency or c == currency},
        covered_until=covered,
    )


def _held_before(day: dt.date, live: list[LedgerFlow]) -> dict[str, Decimal]:
    """What escrow accounts held at the start of ``day``: every escrow posting before it."""
    held: dict[str, Decimal] = defaultdict(lambda: ZERO)
    rolled = LedgerDay.objects.filter(account_kind=Account.ESCROW, day__lt=day).values("currency")
    for row in rolled.annotate(total=Sum("amount")):
        held[row["currency"]] += row["total"]
    for flow in live:
        if flow.account_kind == Account.ESCROW and flow.day < day:
            held[flow.currency] += flow.amount
    return dict(held)


def _payouts_in_transit(live: list[LedgerFlow]) -> dict[str, Decimal]:
    """The payouts-in-transit account's balance now, per currency."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    rolled = LedgerDay.objects.filter(account_kind=Account.PAYOUTS_IN_TRANSIT).values("currency")
    for row in rolled.annotate(total=Sum("amount")):
        totals[row["currency"]] += row["total"]
    for flow in live:
        if flow.account_kind == Account.PAYOUTS_IN_TRANSIT:
            totals[flow.currency] += flow.amount
    return dict(totals)


CSV_HEADER = ["period", "currency", *[name for name, _ in FIGURES], "held_in_escrow"]


def dashboard_csv_lines(dashboard: Dashboard):
    yield CSV_HEADER
    for row in dashboard.rows:
        yield [row.period, row.currency, *[getattr(row, name) for name, _ in FIGURES], row.held_in_escrow]
