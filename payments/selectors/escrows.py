"""Party reads of an escrow: visibility, money lines, timeline, live payment, wallet hooks, back-office panel."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError, NotFound
from payments.fees import release_split
from payments.models import Escrow, EscrowEvent
from processors import registry
from processors.interface import PaymentStatus
from processors.models import ProcessorTransaction
from processors.selectors import transactions_for
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
