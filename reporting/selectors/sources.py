"""The history's sources: its columns, the source registry, and the built-in kinds of row.

Each kind of row comes from a **source**: a function returning a queryset of the lower app's rows,
annotated to the same columns (``COLUMNS``). Adding a source is registering it::

    history_source_register(HistorySource(kind="payout", label="Payout", role=TASKER,
                                          statuses=Payout.Status.choices, rows=payout_rows))

where ``payout_rows(user)`` returns the payouts app's rows (``payouts.selectors``) as
``.values(**columns(...))`` — see ``reporting/apps.py``, where the built-in sources are registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    DecimalField,
    Expression,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat

from accounts.models import User
from payments import selectors as payments
from payments.models import Escrow, EscrowRefund, WalletTopUp, WalletWithdrawal
from payouts import selectors as payouts
from payouts.models import Payout

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
