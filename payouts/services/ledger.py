"""The ledger stage of a payout: money taken from the wallet, returned, paid, and the credits it came from."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F, Sum

from accounts.models import User
from core.money import format_money
from payouts.models import Payout, PayoutSource
from payouts.services.lifecycle import S
from wallets.models import JournalEntry, LedgerAccount, Posting
from wallets.services import accounts_get_or_create, ledger_post


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
