"""Reads for payments: who may see which escrow, what each party is shown, and back-office queues.

An escrow is visible only to its client and its tasker; for anyone else it does not exist
(``NotFound``), so its existence is not leaked.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import CharField, Q, QuerySet, Sum
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from accounts.models import User
from core import sql
from core.errors import ApplicationError, NotFound
from core.money import quantize
from payments.fees import release_split
from payments.models import Escrow, EscrowEvent, EscrowRefund, WalletTopUp, WalletWithdrawal
from processors import registry
from processors.interface import PaymentStatus
from processors.models import ProcessorTransaction
from processors.selectors import transactions_about, transactions_for
from wallets.selectors import PaymentRow

Tx = ProcessorTransaction.Kind

logger = logging.getLogger(__name__)

CLIENT = "client"
TASKER = "tasker"


def _parties(user: User) -> Q:
    return Q(client=user) | Q(tasker=user)


def escrow_list_for_user(*, user: User, status: str = "") -> QuerySet[Escrow]:
    """Escrows where ``user`` is the client or the tasker, newest first."""
    queryset = Escrow.objects.filter(_parties(user))
    if status:
        queryset = queryset.filter(status=status)
    return queryset.select_related("task", "client", "tasker").order_by("-created_at", "-id")


def escrow_get_for_party(*, escrow_id: int, user: User | AnonymousUser | None) -> Escrow:
    """The escrow if ``user`` is one of its parties, else ``NotFound`` (also when it does not exist)."""
    if user is None or not user.is_authenticated:
        raise NotFound("No such escrow.", code="escrow_not_found")
    escrow = escrow_list_for_user(user=user).filter(pk=escrow_id).first()
    if escrow is None:
        raise NotFound("No such escrow.", code="escrow_not_found")
    return escrow


def escrow_current_for_task(*, task, user: User | AnonymousUser | None) -> Escrow | None:
    """The task's current escrow (a cancelled one is history), for its client or assigned tasker only."""
    if user is None or not user.is_authenticated:
        return None
    return (
        escrow_list_for_user(user=user)
        .filter(task=task)
        .exclude(status=Escrow.Status.CANCELLED)
        .order_by("-created_at", "-id")
        .first()
    )


def escrow_role(*, escrow: Escrow, user: User) -> str:
    return CLIENT if escrow.client_id == user.pk else TASKER


@dataclass(frozen=True)
class BreakdownLine:
    key: str
    label: str
    amount: Decimal
    is_total: bool = False


def escrow_breakdown_for(*, escrow: Escrow, role: str) -> list[BreakdownLine]:
    """The money lines a party is shown: the client what they pay, the tasker what they receive.

    Each side sees only its own fee: the client's service fee is none of the tasker's business,
    and the commission none of the client's. The totals' wording follows the escrow: "to pay"
    until paid, "paid" / "received" once it is.
    """
    paid = escrow.funded_at is not None
    if role == CLIENT:
        total = (
            "Total paid" if paid else ("Total to pay" if escrow.status == Escrow.Status.AWAITING_PAYMENT else "Total")
        )
        return [
            BreakdownLine("amount", "Agreed amount", escrow.amount),
            BreakdownLine("client_fee", "Service fee", escrow.client_fee),
            BreakdownLine("client_total", total, escrow.client_total, is_total=True),
        ]
    return [
        BreakdownLine("amount", "Agreed amount", escrow.amount),
        BreakdownLine("commission", "Holdfast commission", -escrow.commission),
        BreakdownLine(
            "tasker_net",
            "You received" if escrow.status == Escrow.Status.RELEASED else "You receive",
            escrow.tasker_net,
            is_total=True,
        ),
    ]


# The client's card is the client's business: its declines (with their reasons and charge ids),
# its 3-D Secure checks and payments handed back to it are shown to the client and to staff,
# never to the tasker. Notes for Support are for staff alone.
CLIENT_ONLY_EVENTS = frozenset(
    {
        EscrowEvent.Kind.PAYMENT_FAILED,
        EscrowEvent.Kind.PAYMENT_ACTION_REQUIRED,
        EscrowEvent.Kind.PAYMENT_RETURNED,
    }
)
STAFF_ONLY_EVENTS = frozenset({EscrowEvent.Kind.NEEDS_ATTENTION})


def escrow_timeline(*, escrow: Escrow, role: str | None = None) -> QuerySet[EscrowEvent]:
    """The escrow's events, oldest first, as ``role`` may see them (``None``: staff, everything)."""
    events = escrow.events.select_related("actor").order_by("created_at", "id")
    if role == CLIENT:
        events = events.exclude(kind__in=STAFF_ONLY_EVENTS)
    elif role is not None:
        events = events.exclude(kind__in=CLIENT_ONLY_EVENTS | STAFF_ONLY_EVENTS)
    return events


@dataclass(frozen=True)
class LivePayment:
    """What Stripe says about the escrow's card payment while the escrow still awaits it."""

    awaiting_confirmation: bool = False  # the payment went through; its webhook has not funded yet
    error: str = ""  # why the last attempt failed, when Stripe knows before its webhook arrived


def escrow_payment_live(*, escrow: Escrow) -> LivePayment:
    """Read the escrow's payment from its processor, only while an attempt awaits its outcome.

    Asks only in that narrow window (awaiting payment, an attempt made), so ordinary page views
    never call out. It answers what the webhook will record a moment later: that the payment went
    through, or why it failed (a failed 3-D Secure check, whose client is sent straight back here
    by the bank's page). If the processor cannot be reached the answer is "nothing new": the page
    then shows the stored status, which is still true.
    """
    if escrow.status != Escrow.Status.AWAITING_PAYMENT or not escrow.payment_id or not escrow.payment_attempts:
        return LivePayment()
    try:
        payment = registry.processor(escrow.payment.processor).payment_retrieve(escrow.payment.reference)
    except ApplicationError as exc:
        logger.info("Could not read payment %s: %s", escrow.payment.reference, exc)
        return LivePayment()
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING):
        return LivePayment(awaiting_confirmation=True)
    if payment.status == PaymentStatus.REQUIRES_PAYMENT_METHOD and payment.failure is not None:
        return LivePayment(error=payment.failure.message)
    return LivePayment()


def escrow_payment_error(*, escrow: Escrow) -> str:
    """Why the last payment attempt failed, while the escrow still awaits payment ("" otherwise):
    the latest decline, unless a payment succeeded after it."""
    if escrow.status != Escrow.Status.AWAITING_PAYMENT:
        return ""
    last = (
        transactions_for(subject=escrow, kinds=[Tx.PAYMENT_FAILED, Tx.PAYMENT_SUCCEEDED])
        .order_by("-created_at", "-id")
        .first()
    )
    return last.failure_message if last is not None and last.kind == Tx.PAYMENT_FAILED else ""


def _timeline_for_display(events: list[EscrowEvent]) -> list[EscrowEvent]:
    """One "card authentication required" per 3-D Secure check: a repeated request for the same
    check (a form sent twice, a retry before the bank answered) is not news."""
    shown: list[EscrowEvent] = []
    for event in events:
        if (
            event.kind == EscrowEvent.Kind.PAYMENT_ACTION_REQUIRED
            and shown
            and shown[-1].kind == EscrowEvent.Kind.PAYMENT_ACTION_REQUIRED
        ):
            continue
        shown.append(event)
    return shown


def escrow_pending_for_tasker(user: User) -> dict[str, Decimal]:
    """Per currency, what ``user`` would receive as tasker if each escrow holding money released now.

    That is each escrow's net after any refund (``payments.fees.release_split``, as the release
    computes it), not what the escrow holds: the client's service fee and the commission are not
    the tasker's. Registered with the wallet balances in ``PaymentsConfig.ready()``.
    """
    pending: dict[str, Decimal] = {}
    held = Escrow.objects.filter(
        tasker=user, status__in=(Escrow.Status.FUNDED, Escrow.Status.DISPUTED), funded_at__isnull=False
    )
    for escrow in held.only(
        "currency", "amount", "client_fee", "commission", "tasker_net", "client_total", "refunded_amount"
    ):
        split = release_split(breakdown=escrow.breakdown, refunded=escrow.refunded_amount)
        pending[escrow.currency] = pending.get(escrow.currency, Decimal("0.00")) + split.tasker_net
    return pending


def escrow_payments_for_client(user: User, limit: int) -> list[PaymentRow]:
    """The client's latest escrows as payments (total charged, status, task), for the wallet page.

    Registered with the wallet in ``PaymentsConfig.ready()``: card payments go into escrows, not
    through the wallet, so this is where a paying client finds them.
    """
    escrows = Escrow.objects.filter(client=user).select_related("task").order_by("-created_at", "-id")[:limit]
    return [
        PaymentRow(
            title=escrow.task.title,
            url=escrow.task.get_absolute_url(),
            created_at=escrow.created_at,
            currency=escrow.currency,
            amount=escrow.client_total,
            status=escrow.status,
            status_label=escrow.get_status_display(),
        )
        for escrow in escrows
    ]


def escrow_references_describe(ids: list[str]) -> dict[str, tuple[str, str]]:
    """Ledger entries about escrows, as people know them: the task's title, linking to the task.

    Registered with the wallet statement in ``PaymentsConfig.ready()``.
    """
    escrows = Escrow.objects.filter(pk__in=[int(i) for i in ids if str(i).isdigit()]).select_related("task")
    return {str(escrow.pk): (escrow.task.title, escrow.task.get_absolute_url()) for escrow in escrows}


# --- back office ---------------------------------------------------------------------------------


def escrow_stale_q(*, now: datetime | None = None) -> Q:
    """Funded longer than ``ESCROW_STALE_AFTER`` and still not delivered (as the stale sweeper sees it)."""
    now = now or timezone.now()
    return Q(
        status=Escrow.Status.FUNDED,
        funded_at__lte=now - settings.ESCROW_STALE_AFTER,
        release_due_at__isnull=True,
    )


def escrow_is_stale(*, escrow: Escrow, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        escrow.status == Escrow.Status.FUNDED
        and escrow.funded_at is not None
        and escrow.funded_at <= now - settings.ESCROW_STALE_AFTER
        and escrow.release_due_at is None
    )


def escrow_panel(*, escrow: Escrow, user: User) -> dict:
    """Everything the escrow panel shows to one party (the task page and the escrow page share it).

    The reason of the last failed payment is the client's alone, said once (``escrow_payment_error``);
    the timeline entry of that same failure then carries no second copy of it.
    """
    role = escrow_role(escrow=escrow, user=user)
    live = escrow_payment_live(escrow=escrow) if role == CLIENT else LivePayment()
    events = _timeline_for_display(list(escrow_timeline(escrow=escrow, role=role)))
    payment_error = ""
    if role == CLIENT and not live.awaiting_confirmation and escrow.status == Escrow.Status.AWAITING_PAYMENT:
        # Once Stripe has the money, an earlier decline is no longer news.
        payment_error = live.error or escrow_payment_error(escrow=escrow)
    failures = [event for event in events if event.kind == EscrowEvent.Kind.PAYMENT_FAILED]
    return {
        "escrow": escrow,
        "escrow_role": role,
        "escrow_lines": escrow_breakdown_for(escrow=escrow, role=role),
        "escrow_events": events,
        "escrow_awaiting_confirmation": live.awaiting_confirmation,
        "escrow_payment_error": payment_error,
        "escrow_current_failure_id": (
            failures[-1].pk if payment_error and failures and failures[-1].reason.startswith(payment_error) else None
        ),
        "escrow_is_held": escrow.status in (Escrow.Status.FUNDED, Escrow.Status.DISPUTED),
    }


# --- Ledger check ----------------------------------------------------------------------------

# Registered with the ledger check in PaymentsConfig.ready(): every escrow's ledger account holds
# exactly what the escrow row says it holds. Unpaid and finished (released, refunded, split)
# escrows hold nothing; any other paid escrow (funded, disputed, or cancelled while a late
# payment is refunded) holds what was charged less what was refunded. An unfunded escrow may
# have no account yet: it counts as 0. The join is on equalities only, so PostgreSQL can
# hash-join the two tables in one pass however large they grow.
ESCROW_LEDGER_CHECK = "escrow_balance_mismatch"
ESCROW_LEDGER_CHECK_SQL = """
    SELECT id, status, currency, expected, actual FROM (
        SELECT e.id, replace(e.status, '_', ' ') AS status, e.currency,
               CASE WHEN e.funded_at IS NULL OR e.status IN ('released', 'refunded', 'split') THEN 0.00
                    ELSE e.client_total - e.refunded_amount END AS expected,
               coalesce(a.balance, 0.00) AS actual
          FROM payments_escrow e
          LEFT JOIN wallets_ledgeraccount a
                 ON a.kind = 'escrow' AND a.currency = e.currency AND a.owner_id = e.id::text
                AND a.owner_type_id = (SELECT id FROM django_content_type
                                        WHERE app_label = 'payments' AND model = 'escrow')
    ) checked
    WHERE expected <> actual ORDER BY id LIMIT 50"""
ESCROW_LEDGER_CHECK_MESSAGE = (
    "Escrow {0} is {1} and should hold {3} {2} in its ledger account, but the account holds {4}."
)


# --- Wallet top-ups ------------------------------------------------------------------------------


def top_up_references_describe(ids: list[str]) -> dict[str, tuple[str, str]]:
    """How statements name a top-up's entries: "Top-up #5", linking to its page."""
    from django.urls import reverse

    return {str(pk): (f"Top-up #{pk}", reverse("payments:top_up", args=[pk])) for pk in ids if str(pk).isdigit()}


# Registered with the ledger check: what the ledger moved for each top-up agrees with the top-up
# (its amount in the wallet once funded, never twice; what went back to the card = withdrawn_amount).
TOP_UP_LEDGER_CHECK = "wallet_top_up_mismatch"
TOP_UP_LEDGER_CHECK_SQL = """
    SELECT id, currency, expected_in, actual_in, withdrawn_amount, actual_out FROM (
        SELECT t.id, t.currency, t.withdrawn_amount,
               CASE WHEN t.funded_at IS NULL THEN 0.00 ELSE t.amount END AS expected_in,
               coalesce(sum(p.amount) FILTER (WHERE e.kind = 'wallet_top_up'), 0.00) AS actual_in,
               coalesce(-sum(p.amount) FILTER (WHERE e.kind = 'wallet_withdrawal'), 0.00) AS actual_out
          FROM payments_wallettopup t
          LEFT JOIN wallets_journalentry e
                 ON e.reference_id = t.id::text
                AND e.reference_type_id = (SELECT id FROM django_content_type
                                            WHERE app_label = 'payments' AND model = 'wallettopup')
          LEFT JOIN wallets_posting p ON p.entry_id = e.id
          LEFT JOIN wallets_ledgeraccount a ON a.id = p.account_id
         WHERE a.kind = 'user_wallet' OR a.id IS NULL
         GROUP BY t.id
    ) checked
    WHERE expected_in <> actual_in OR withdrawn_amount <> actual_out ORDER BY id LIMIT 50"""
TOP_UP_LEDGER_CHECK_MESSAGE = (
    "Top-up {0} should have put {2} {1} into the wallet and taken {4} back to its card, "
    "but the ledger shows {3} in and {5} out."
)
# --- For reporting (history, statistics, revenue) ----------------------------------------------

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


def top_ups_funded(*, client: User | None = None) -> QuerySet[WalletTopUp]:
    """Wallet top-ups whose card payment reached the wallet (``funded_at`` set), of one client (``None``: all)."""
    top_ups = WalletTopUp.objects.filter(funded_at__isnull=False)
    if client is not None:
        top_ups = top_ups.filter(client=client)
    return top_ups


def wallet_withdrawals(*, client: User | None = None) -> QuerySet[WalletWithdrawal]:
    """Withdrawals from wallets back to the top-ups' cards (pending, succeeded or failed)."""
    withdrawals = WalletWithdrawal.objects.all()
    if client is not None:
        withdrawals = withdrawals.filter(top_up__client=client)
    return withdrawals


# --- The escrow API's detail read: one statement ---------------------------------------------


@dataclass(frozen=True)
class TimelineRow:
    kind: str
    from_status: str
    to_status: str
    amount: Decimal | None
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class EscrowDetail:
    """An escrow as its party sees it on ``GET /api/v1/escrows/<id>/``: the row, its task's id,
    title and status, the caller's role and their timeline."""

    escrow: Escrow
    role: str
    task_id: int
    task_title: str
    task_status: str
    timeline: list[TimelineRow]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _escrow_detail_sql() -> str:
    escrow_columns = ", ".join(f"e.{column}" for column in sql.columns(Escrow).split(", "))
    # Each event as [kind, from, to, amount as text, reason, created_at in µs since the epoch]:
    # exact (no float, no time-zone formatting) and turned into the API's shapes in Python.
    return f"""
SELECT {escrow_columns}, t.title, t.status,
    (SELECT coalesce(json_agg(json_build_array(v.kind, v.from_status, v.to_status, v.amount::text, v.reason,
                                               (extract(epoch FROM v.created_at) * 1000000)::bigint)
                              ORDER BY v.created_at, v.id), '[]'::json)
       FROM {EscrowEvent._meta.db_table} v
      WHERE v.escrow_id = e.id
        AND v.kind <> ALL (CASE WHEN e.client_id = %(user)s THEN %(hidden_client)s::text[]
                                ELSE %(hidden_tasker)s::text[] END))
FROM {Escrow._meta.db_table} e JOIN marketplace_task t ON t.id = e.task_id
WHERE e.id = %(escrow)s AND (e.client_id = %(user)s OR e.tasker_id = %(user)s)
"""


_ESCROW_DETAIL_SQL: list[str] = []


def escrow_detail_get_for_party(*, escrow_id: int, user: User | AnonymousUser | None) -> EscrowDetail:
    """``escrow_get_for_party`` and ``escrow_timeline`` for the API's detail read, in one SQL
    statement (a hot read: the ORM's query building was most of its cost). The same rows, the
    same visibility: ``NotFound`` unless ``user`` is a party."""
    if user is None or not user.is_authenticated:
        raise NotFound("No such escrow.", code="escrow_not_found")
    if not _ESCROW_DETAIL_SQL:
        _ESCROW_DETAIL_SQL.append(_escrow_detail_sql())
    params = {
        "escrow": escrow_id,
        "user": user.pk,
        "hidden_client": sorted(STAFF_ONLY_EVENTS),
        "hidden_tasker": sorted(CLIENT_ONLY_EVENTS | STAFF_ONLY_EVENTS),
    }
    with connection.cursor() as cursor:
        cursor.execute(_ESCROW_DETAIL_SQL[0], params)
        row = cursor.fetchone()
    if row is None:
        raise NotFound("No such escrow.", code="escrow_not_found")
    width = len(Escrow._meta.concrete_fields)
    escrow = sql.from_row(Escrow, row[:width])
    title, task_status, events = row[width:]
    if isinstance(events, str):
        events = json.loads(events)
    timeline = [
        TimelineRow(
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            amount=Decimal(amount) if amount is not None else None,
            reason=reason,
            created_at=_EPOCH + timedelta(microseconds=micros),
        )
        for kind, from_status, to_status, amount, reason, micros in events
    ]
    return EscrowDetail(
        escrow=escrow,
        role=escrow_role(escrow=escrow, user=user),
        task_id=escrow.task_id,
        task_title=title,
        task_status=task_status,
        timeline=timeline,
    )
