"""A payout's life in Holdfast: request, approval (maker-checker), hold, cancel, retry.

Every status change goes through ``_transition``: the row is locked, the state re-checked (a change
that already happened returns the payout as it is), the ``PayoutEvent`` written and, for money,
the ledger posted in the same transaction. Lock order: the payout row, then ledger rows (inside
``ledger_post``). The processor is never called while a payout row is locked.

Ledger (amount A taken from the wallet, fee F, net N = A − F sent to the bank):

- request (each attempt): wallet −A, payouts in transit +N, platform fee revenue +F
- paid: payouts in transit −N, processor balance +N (the money has left the platform)
- returned (failed, cancelled, refused): payouts in transit −N, fee revenue −F, wallet +A
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from moneyed import Money

from accounts.models import User
from core.events import DomainEvent, publish
from core.money import format_money, parse_amount, quantize, validate_currency
from payouts.errors import PayoutError, PayoutInputError, PayoutPermissionDenied
from payouts.events import PayoutApproved, PayoutCancelled, PayoutRequested
from payouts.models import Payout, PayoutAccount, PayoutEvent, PayoutSource
from wallets.models import JournalEntry, LedgerAccount, Posting
from wallets.selectors import account_balance, wallet_account_find
from wallets.services import accounts_get_or_create, ledger_post

logger = logging.getLogger(__name__)

S = Payout.Status
K = PayoutEvent.Kind

# Which moves the state machine allows (DESIGN §4). Anything else is refused and writes nothing.
TRANSITIONS: dict[str, set[str]] = {
    S.REQUESTED: {S.PROCESSING, S.ON_HOLD, S.CANCELLED},
    S.PROCESSING: {S.IN_TRANSIT, S.FAILED, S.ON_HOLD, S.CANCELLED},
    S.ON_HOLD: {S.REQUESTED, S.PROCESSING, S.CANCELLED},
    S.IN_TRANSIT: {S.PAID, S.FAILED},
    S.FAILED: {S.PROCESSING, S.CANCELLED},
    S.PAID: set(),
    S.CANCELLED: set(),
}


def payout_lock(payout_id: int) -> Payout:
    return Payout.objects.select_for_update(of=("self",)).select_related("account").get(pk=payout_id)


def _transition(
    payout: Payout,
    *,
    to: str,
    kind: str,
    actor: User | None,
    reason: str = "",
    fields: dict | None = None,
    event: DomainEvent | None = None,
) -> Payout:
    """Move a locked payout to ``to``: status, timestamps, a timeline entry; publish ``event``."""
    if to not in TRANSITIONS.get(payout.status, set()):
        raise PayoutError(
            f"This payout is {payout.get_status_display().lower()} and cannot become "
            f"{Payout.Status(to).label.lower()}.",
            code="invalid_transition",
            details={"status": payout.status, "to": to},
        )
    from_status = payout.status
    payout.status = to
    for name, value in (fields or {}).items():
        setattr(payout, name, value)
    payout.save()
    PayoutEvent.objects.create(
        payout=payout, kind=kind, from_status=from_status, to_status=to, actor=actor, reason=reason[:500]
    )
    if event is not None:
        publish(event)
    return payout


def payout_note(payout: Payout, *, kind: str, reason: str, actor: User | None = None) -> None:
    """A timeline entry that does not change the status (waiting, needs attention)."""
    PayoutEvent.objects.create(
        payout=payout, kind=kind, from_status=payout.status, to_status=payout.status, actor=actor, reason=reason[:500]
    )


def event_fields(payout: Payout) -> dict:
    return {
        "payout_id": payout.pk,
        "tasker_id": payout.tasker_id,
        "amount": payout.amount,
        "net": payout.net,
        "currency": payout.currency,
    }


def _enqueue_execute(payout: Payout) -> None:
    from payouts.tasks import payout_execute

    payout_id = payout.pk
    transaction.on_commit(lambda: payout_execute.delay(payout_id))


# --- the ledger ---------------------------------------------------------------------------------


def _ledger_accounts(payout: Payout) -> tuple[LedgerAccount, LedgerAccount, LedgerAccount]:
    wallet, in_transit, revenue = accounts_get_or_create(
        {"kind": LedgerAccount.Kind.USER_WALLET, "currency": payout.currency, "user_id": payout.tasker_id},
        {"kind": LedgerAccount.Kind.PAYOUTS_IN_TRANSIT, "currency": payout.currency},
        {"kind": LedgerAccount.Kind.PLATFORM_FEE_REVENUE, "currency": payout.currency},
    )
    return wallet, in_transit, revenue


def _post_taken(payout: Payout, actor: User | None) -> JournalEntry:
    """The amount leaves the wallet for this attempt (refused with ``insufficient_funds``)."""
    wallet, in_transit, revenue = _ledger_accounts(payout)
    lines = [(wallet, -payout.amount), (in_transit, payout.net)]
    if payout.fee:
        lines.append((revenue, payout.fee))
    return ledger_post(
        idempotency_key=f"payout:{payout.pk}:{payout.attempt}:request",
        kind=JournalEntry.Kind.PAYOUT,
        reference=payout,
        lines=lines,
        actor=actor,
        memo=f"Payout to {payout.account.bank_name or 'your bank'}"
        + (f" ····{payout.account.bank_last4}" if payout.account.bank_last4 else "")
        + (f" (fee {format_money(payout.fee, payout.currency)})" if payout.fee else ""),
    )


def post_returned(payout: Payout, *, actor: User | None, memo: str) -> JournalEntry:
    """This attempt's money goes back to the wallet (failed, cancelled, refused). Once per attempt."""
    wallet, in_transit, revenue = _ledger_accounts(payout)
    lines = [(in_transit, -payout.net), (wallet, payout.amount)]
    if payout.fee:
        lines.append((revenue, -payout.fee))
    return ledger_post(
        idempotency_key=f"payout:{payout.pk}:{payout.attempt}:return",
        kind=JournalEntry.Kind.PAYOUT_REVERSAL,
        reference=payout,
        lines=lines,
        actor=actor,
        memo=memo,
    )


def post_paid(payout: Payout) -> JournalEntry:
    """The bank has the money: it has left the platform's processor balance."""
    _, in_transit, _ = _ledger_accounts(payout)
    (processor,) = accounts_get_or_create({"kind": LedgerAccount.Kind.PROCESSOR_BALANCE, "currency": payout.currency})
    return ledger_post(
        idempotency_key=f"payout:{payout.pk}:{payout.attempt}:paid",
        kind=JournalEntry.Kind.PAYOUT_PAID,
        reference=payout,
        lines=[(in_transit, -payout.net), (processor, payout.net)],
        actor=None,
        memo="Paid to the bank",
    )


def _allocate_sources(payout: Payout, wallet: LedgerAccount) -> None:
    """Which wallet credits this attempt's money came from, oldest first (FIFO).

    Credits are the wallet's incoming entries (released escrows) other than money returned by
    payouts; each credit is used up by the sources of earlier payouts that still hold it (not
    failed or cancelled). Runs after the request's ledger post, which holds the wallet's row lock,
    so two requests of one tasker allocate one after the other.
    """
    held = dict(
        PayoutSource.objects.filter(payout__tasker_id=payout.tasker_id, payout__currency=payout.currency)
        .filter(attempt=F("payout__attempt"))
        .exclude(payout__status__in=[S.FAILED, S.CANCELLED])
        .exclude(payout=payout)
        .values("entry_id")
        .annotate(used=Sum("amount"))
        .values_list("entry_id", "used")
    )
    credits = (
        Posting.objects.filter(account_id=wallet.pk, amount__gt=0)
        .exclude(entry__kind=JournalEntry.Kind.PAYOUT_REVERSAL)
        .order_by("id")
        .values_list("entry_id", "amount", "created_at")
    )
    remaining = payout.amount
    sources = []
    for entry_id, amount, created_at in credits.iterator(chunk_size=500):
        free = amount - held.get(entry_id, Decimal("0"))
        if free <= 0:
            continue
        take = min(free, remaining)
        sources.append(
            PayoutSource(payout=payout, attempt=payout.attempt, entry_id=entry_id, amount=take, credited_at=created_at)
        )
        remaining -= take
        if remaining <= 0:
            break
    PayoutSource.objects.bulk_create(sources, ignore_conflicts=True)


# --- requesting ---------------------------------------------------------------------------------


def payout_fee(currency: str) -> Decimal:
    return quantize(settings.PAYOUT_FEE, currency)


def payout_arrival_estimate(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(days=settings.PAYOUT_ARRIVAL_DAYS)


def _approvals_required(*, tasker: User, amount: Decimal) -> int:
    if amount > settings.PAYOUT_SECOND_APPROVAL_THRESHOLD:
        return 2
    if amount > settings.PAYOUT_APPROVAL_THRESHOLD:
        return 1
    if settings.PAYOUT_FIRST_NEEDS_APPROVAL and not Payout.objects.filter(tasker=tasker, status=S.PAID).exists():
        return 1  # a tasker's first payout: Finance looks at it once
    return 0


def payout_account_ready(*, tasker: User) -> PayoutAccount:
    account = PayoutAccount.objects.filter(user=tasker).first()
    if account is None:
        raise PayoutError(
            "Set up your payout account first (Get paid → Set up payouts with Stripe).", code="payout_account_missing"
        )
    if not account.can_receive_payouts:
        raise PayoutError(
            "Stripe cannot pay out to your account yet: finish the details it still needs on the Get paid page.",
            code="payout_account_not_ready",
            details={"requirements_due": list(account.requirements_due)},
        )
    return account


@transaction.atomic
def payout_request(
    *,
    tasker: User,
    amount: Decimal | str | int,
    currency: str,
    actor: User | None = None,
    scheduled: bool = False,
) -> Payout:
    """Request a payout of ``amount`` from the tasker's available balance in ``currency``.

    Refused (nothing moves) below ``PAYOUT_MIN_AMOUNT``, above the available balance, in a
    currency the bank account does not take, or before the payout account is ready. The amount
    leaves the available balance at once (ledger: wallet → payouts in transit), so two requests at
    the same moment cannot spend it twice (the ledger locks the wallet row; the second is refused
    with ``insufficient_funds``). Goes straight to processing unless Finance must approve it.
    """
    currency = validate_currency(currency)
    amount = parse_amount(amount, currency)
    account = payout_account_ready(tasker=tasker)
    if account.bank_currency and account.bank_currency != currency:
        raise PayoutInputError(
            f"Your bank account receives {account.bank_currency}; a payout in {currency} cannot be sent to it.",
            code="payout_currency_not_supported",
            details={"field": "currency", "bank_currency": account.bank_currency},
        )
    minimum = quantize(settings.PAYOUT_MIN_AMOUNT, currency)
    if amount < minimum:
        raise PayoutInputError(
            f"The smallest payout is {format_money(minimum, currency)}.",
            code="payout_below_minimum",
            details={"field": "amount", "minimum": str(minimum)},
        )
    fee = payout_fee(currency)
    if amount <= fee:
        raise PayoutInputError(
            f"The payout must be more than its fee of {format_money(fee, currency)}.",
            code="payout_below_fee",
            details={"field": "amount", "fee": str(fee)},
        )
    wallet = wallet_account_find(user=tasker, currency=currency)
    available = account_balance(account=wallet) if wallet else Decimal("0")
    if amount > available:
        raise PayoutInputError(
            f"You can pay out at most {format_money(available, currency)}: that is your available balance.",
            code="insufficient_funds",
            details={"field": "amount", "available": str(available)},
        )
    approvals = _approvals_required(tasker=tasker, amount=amount)
    now = timezone.now()
    payout = Payout.objects.create(
        tasker=tasker,
        account=account,
        currency=currency,
        amount=amount,
        fee=fee,
        net=amount - fee,
        status=S.REQUESTED,
        scheduled=scheduled,
        approvals_required=approvals,
        arrival_estimate=payout_arrival_estimate(now),
    )
    _post_taken(payout, actor or tasker)  # InsufficientFunds here: a concurrent request won the race
    _allocate_sources(payout, wallet)
    PayoutEvent.objects.create(
        payout=payout,
        kind=K.REQUESTED,
        to_status=S.REQUESTED,
        actor=actor if actor is not None else (None if scheduled else tasker),
        reason=("By the payout schedule. " if scheduled else "")
        + (f"Needs {approvals} approval(s) by Finance." if approvals else ""),
    )
    publish(PayoutRequested(**event_fields(payout), needs_approval=bool(approvals), scheduled=scheduled))
    if not approvals:
        _transition(payout, to=S.PROCESSING, kind=K.PROCESSING, actor=None, fields={"processing_at": now})
        _enqueue_execute(payout)
    return payout


# --- Finance: approve, hold, release, cancel ------------------------------------------------------


def _require_finance(actor: User) -> None:
    if not actor.has_perm("payouts.approve_payout"):
        raise PayoutPermissionDenied()


@transaction.atomic
def payout_approve(*, payout: Payout, actor: User) -> Payout:
    """Finance approves. Above ``PAYOUT_SECOND_APPROVAL_THRESHOLD`` two different Finance users
    must (maker-checker): the same user approving twice is refused (``second_approver_same``), and
    nobody approves their own payout. With the last approval it goes to processing. Idempotent."""
    _require_finance(actor)
    payout = payout_lock(payout.pk)
    if payout.tasker_id == actor.pk:
        raise PayoutPermissionDenied("Nobody may approve their own payout.", code="payout_approve_own")
    if payout.status != S.REQUESTED:
        done = payout.approvals_given >= payout.approvals_required
        if payout.status in (S.PROCESSING, S.IN_TRANSIT, S.PAID) and done:
            return payout  # approved already: a double click
        raise PayoutError(
            f"This payout is {payout.get_status_display().lower()}; "
            "only a payout waiting for approval can be approved.",
            code="payout_not_awaiting_approval",
        )
    now = timezone.now()
    if payout.approved_by_id is None:
        payout.approved_by, payout.approved_at = actor, now
        reason = "First approval" if payout.approvals_required > 1 else "Approved"
    elif payout.approved_by_id == actor.pk:
        if payout.approvals_required > 1:
            raise PayoutPermissionDenied(
                "You gave the first approval; a second, different Finance user must give the second.",
                code="second_approver_same",
            )
        return payout
    else:
        payout.second_approved_by, payout.second_approved_at = actor, now
        reason = "Second approval"
    if payout.approvals_given < payout.approvals_required:
        payout.save(update_fields=["approved_by", "approved_at", "updated_at"])
        payout_note(payout, kind=K.APPROVED, reason=f"{reason}; a second Finance user must also approve.", actor=actor)
        return payout
    PayoutEvent.objects.create(
        payout=payout, kind=K.APPROVED, from_status=S.REQUESTED, to_status=S.REQUESTED, actor=actor, reason=reason
    )
    _transition(
        payout,
        to=S.PROCESSING,
        kind=K.PROCESSING,
        actor=actor,
        fields={"processing_at": now},
        event=PayoutApproved(**event_fields(payout), approver_id=actor.pk),
    )
    _enqueue_execute(payout)
    return payout


def _stoppable(payout: Payout) -> bool:
    """Before any money moved at the processor: waiting for approval, on hold, or processing
    that has not made its transfer yet."""
    return payout.status in (S.REQUESTED, S.ON_HOLD) or (payout.status == S.PROCESSING and payout.transfer_id is None)


@transaction.atomic
def payout_hold(*, payout: Payout, actor: User, reason: str) -> Payout:
    """Finance holds a payout that has not moved money yet. Idempotent."""
    _require_finance(actor)
    if not reason.strip():
        raise PayoutInputError("Say why the payout is held.", code="reason_required", details={"field": "reason"})
    payout = payout_lock(payout.pk)
    if payout.status == S.ON_HOLD:
        return payout
    if not _stoppable(payout):
        raise PayoutError(
            "The money is already on its way to the bank; this payout can no longer be held.",
            code="payout_not_stoppable",
        )
    return _transition(
        payout,
        to=S.ON_HOLD,
        kind=K.HELD,
        actor=actor,
        reason=reason,
        fields={"hold_reason": reason[:500], "waiting": "", "next_attempt_at": None},
    )


@transaction.atomic
def payout_release_hold(*, payout: Payout, actor: User) -> Payout:
    """Finance releases a hold: back to approval if approvals are missing, else to processing."""
    _require_finance(actor)
    payout = payout_lock(payout.pk)
    if payout.status != S.ON_HOLD:
        if payout.status in (S.REQUESTED, S.PROCESSING):
            return payout
        raise PayoutError("Only a payout on hold can be released.", code="payout_not_on_hold")
    if payout.approvals_given < payout.approvals_required:
        return _transition(payout, to=S.REQUESTED, kind=K.RELEASED, actor=actor, fields={"hold_reason": ""})
    _transition(
        payout,
        to=S.PROCESSING,
        kind=K.RELEASED,
        actor=actor,
        fields={"hold_reason": "", "processing_at": timezone.now()},
    )
    _enqueue_execute(payout)
    return payout


@transaction.atomic
def payout_cancel(*, payout: Payout, actor: User, reason: str = "") -> Payout:
    """Cancel (the tasker) or refuse (Finance) a payout before its money moved at the processor;
    the money goes back to the wallet. A failed payout can be cancelled too (its money is back
    already). Idempotent."""
    is_owner = payout.tasker_id == actor.pk
    if not is_owner:
        _require_finance(actor)
    payout = payout_lock(payout.pk)
    if payout.status == S.CANCELLED:
        return payout
    if payout.status != S.FAILED and not _stoppable(payout):
        raise PayoutError(
            "The money is already on its way to the bank; this payout can no longer be cancelled.",
            code="payout_not_stoppable",
        )
    reason = reason.strip() or ("Cancelled by the tasker" if is_owner else "Refused by Finance")
    if payout.status != S.FAILED:
        post_returned(payout, actor=actor, memo=f"Payout #{payout.pk} cancelled: {reason}")
        PayoutEvent.objects.create(
            payout=payout,
            kind=K.MONEY_RETURNED,
            from_status=payout.status,
            to_status=payout.status,
            actor=actor,
            reason=f"{format_money(payout.amount, payout.currency)} back in the wallet",
        )
    return _transition(
        payout,
        to=S.CANCELLED,
        kind=K.CANCELLED,
        actor=actor,
        reason=reason,
        fields={"cancelled_at": timezone.now(), "waiting": "", "next_attempt_at": None},
        event=PayoutCancelled(**event_fields(payout), reason=reason, actor_id=actor.pk),
    )


@transaction.atomic
def payout_retry(*, payout: Payout, actor: User) -> Payout:
    """A failed payout is tried again as a new attempt: the amount leaves the wallet again (refused
    if it was spent meanwhile) and goes to processing with new processor keys. The tasker or Finance."""
    if payout.tasker_id != actor.pk:
        _require_finance(actor)
    payout = payout_lock(payout.pk)
    if payout.status in (S.PROCESSING, S.IN_TRANSIT, S.PAID):
        return payout  # retried already
    if payout.status != S.FAILED:
        raise PayoutError("Only a failed payout can be retried.", code="payout_not_failed")
    account = payout_account_ready(tasker=payout.tasker)
    payout.attempt += 1
    payout.account = account
    payout.transfer = None
    payout.bank_payout = None
    payout.transfer_tries = 0
    _post_taken(payout, actor)
    wallet = wallet_account_find(user=payout.tasker, currency=payout.currency)
    _allocate_sources(payout, wallet)
    now = timezone.now()
    _transition(
        payout,
        to=S.PROCESSING,
        kind=K.RETRIED,
        actor=actor,
        reason=f"Attempt {payout.attempt}",
        fields={
            "processing_at": now,
            "failure_code": "",
            "failure_message": "",
            "failed_at": None,
            "arrival_estimate": payout_arrival_estimate(now),
        },
    )
    _enqueue_execute(payout)
    return payout


# --- schedules ------------------------------------------------------------------------------------


def schedule_next_at(schedule: str, now: datetime) -> datetime | None:
    """Weekly: next Monday 06:00 UTC; monthly: the 1st of next month, 06:00 UTC; manual: never."""
    start = now.astimezone(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    if schedule == PayoutAccount.Schedule.WEEKLY:
        days = (7 - start.weekday()) % 7 or 7
        return start + timedelta(days=days)
    if schedule == PayoutAccount.Schedule.MONTHLY:
        first = start.replace(day=1)
        return (first + timedelta(days=32)).replace(day=1)
    return None


@transaction.atomic
def payout_schedule_set(
    *, user: User, schedule: str, currency: str | None = None, threshold: Decimal | str | int | None = None
) -> PayoutAccount:
    """Choose when payouts happen: when asked (manual), weekly or monthly, each time for the whole
    available balance in ``currency`` once it reaches ``threshold`` (and the minimum payout)."""
    if schedule not in PayoutAccount.Schedule.values:
        raise PayoutInputError(
            "Choose manual, weekly or monthly.", code="payout_schedule_invalid", details={"field": "schedule"}
        )
    account = PayoutAccount.objects.select_for_update().filter(user=user).first()
    if account is None:
        raise PayoutError("Set up your payout account first.", code="payout_account_missing")
    currency = validate_currency(currency or account.bank_currency or settings.DEFAULT_CURRENCY)
    value = Decimal("0")
    if threshold not in (None, ""):
        zero = str(threshold).strip("0.") == ""
        value = Decimal("0") if zero else parse_amount(threshold, currency, field="threshold")
    account.schedule = schedule
    account.schedule_currency = currency
    account.schedule_threshold = value
    account.schedule_next_at = schedule_next_at(schedule, timezone.now())
    account.save()
    return account


def payouts_schedule_due(*, now: datetime | None = None) -> int:
    """Request the scheduled payouts whose day has come (beat). Each account is taken with
    ``SKIP LOCKED`` so several workers share the work; an account below its threshold waits for
    its next date. Returns how many payouts were requested."""
    now = now or timezone.now()
    requested = 0
    while True:
        with transaction.atomic():
            account = (
                PayoutAccount.objects.select_for_update(skip_locked=True)
                .filter(schedule__in=[PayoutAccount.Schedule.WEEKLY, PayoutAccount.Schedule.MONTHLY])
                .filter(schedule_next_at__lte=now)
                .select_related("user")
                .order_by("schedule_next_at", "pk")
                .first()
            )
            if account is None:
                return requested
            currency = account.schedule_currency or settings.DEFAULT_CURRENCY
            wallet = wallet_account_find(user=account.user, currency=currency)
            available = account_balance(account=wallet) if wallet else Decimal("0")
            floor = max(account.schedule_threshold, quantize(settings.PAYOUT_MIN_AMOUNT, currency))
            if available >= floor:
                try:
                    with transaction.atomic():
                        payout_request(tasker=account.user, amount=available, currency=currency, scheduled=True)
                    requested += 1
                except PayoutError as exc:
                    logger.warning("Scheduled payout for %s not requested: %s", account.user_id, exc)
                except PayoutInputError as exc:
                    logger.warning("Scheduled payout for %s not requested: %s", account.user_id, exc)
            account.schedule_next_at = schedule_next_at(account.schedule, now)
            account.save(update_fields=["schedule_next_at", "updated_at"])


def money_of(payout: Payout) -> Money:
    return Money(payout.net, payout.currency)
