"""Reads from the ledger: balances, statements and the invariant check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from core.money import supported_currencies
from wallets.models import JournalEntry, LedgerAccount, Posting

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class WalletBalance:
    currency: str
    available: Decimal  # in the user's wallet, can be paid out
    held_in_escrow: Decimal  # paid in by the user as a client, not yet released or refunded
    pending_as_tasker: Decimal  # what the user would receive as tasker from escrows not yet released (net)


@dataclass(frozen=True)
class StatementRow:
    posting_id: int
    entry_id: int
    created_at: dt.datetime
    kind: str
    kind_label: str
    memo: str
    reference: str
    currency: str
    amount: Decimal
    balance_after: Decimal
    reference_label: str = ""  # what the entry was for, as people know it (a task's title)
    reference_url: str = ""


@dataclass(frozen=True)
class Violation:
    check: str
    message: str


def account_balance(*, account: LedgerAccount) -> Decimal:
    """The current balance. Wallets and escrows: one row read by primary key, whatever the history.

    Platform-wide accounts keep no balance row (it would be a hot row): their balance is
    the sum of their postings, read through the (account, id) index.
    """
    if account.tracks_balance:
        return LedgerAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
    return Posting.objects.filter(account_id=account.pk).aggregate(total=Sum("amount"))["total"] or ZERO


def wallet_account_find(*, user: User, currency: str) -> LedgerAccount | None:
    return LedgerAccount.objects.filter(kind=LedgerAccount.Kind.USER_WALLET, user=user, currency=currency).first()


# What a tasker will receive from the escrows they work on, per currency. An escrow account holds
# the client's total (service fee included); the tasker's part of it depends on the fee rules of
# the app that owns the escrow, which wallets does not import. That app registers a provider in
# ``AppConfig.ready()`` (payments: the net each held escrow would pay on release).
PendingProvider = Callable[[User], Mapping[str, Decimal]]
_PENDING_AS_TASKER_PROVIDERS: dict[str, PendingProvider] = {}


def wallet_pending_register(*, name: str, provider: PendingProvider) -> None:
    """Add a source of money pending for a tasker: ``provider(user)`` -> ``{currency: amount}``.

    Registering a name again replaces it, so a repeated ``ready()`` is harmless. Without any
    provider nothing is shown as pending: the escrow accounts' balances are the client's money,
    fees included, not what the tasker will get.
    """
    _PENDING_AS_TASKER_PROVIDERS[name] = provider


def wallet_pending_unregister(*, name: str) -> None:
    _PENDING_AS_TASKER_PROVIDERS.pop(name, None)


def _pending_as_tasker(user: User) -> dict[str, Decimal]:
    pending: dict[str, Decimal] = {}
    for provider in _PENDING_AS_TASKER_PROVIDERS.values():
        for currency, amount in provider(user).items():
            pending[currency] = pending.get(currency, ZERO) + amount
    return pending


@dataclass(frozen=True)
class PaymentRow:
    """A payment the user made that sits outside their wallet (a card payment into an escrow)."""

    title: str  # what it paid for, as the user knows it (the task's title)
    url: str
    created_at: dt.datetime
    currency: str
    amount: Decimal
    status: str
    status_label: str


# Where a user's card payments are: they go into escrows, not through the wallet, so the
# statement alone would show a paying client nothing. The app that takes payments registers a
# provider ``provider(user, limit)`` -> newest ``PaymentRow``s first.
PaymentsProvider = Callable[[User, int], list[PaymentRow]]
_PAYMENTS_PROVIDERS: dict[str, PaymentsProvider] = {}


def wallet_payments_register(*, name: str, provider: PaymentsProvider) -> None:
    """Add a source of the user's payments shown next to the wallet. Registering a name again replaces it."""
    _PAYMENTS_PROVIDERS[name] = provider


def wallet_payments(*, user: User, limit: int = 10) -> list[PaymentRow]:
    """The user's latest payments from every registered provider, newest first."""
    rows = [row for provider in _PAYMENTS_PROVIDERS.values() for row in provider(user, limit)]
    return sorted(rows, key=lambda row: row.created_at, reverse=True)[:limit]


def wallet_balances(*, user: User) -> list[WalletBalance]:
    """One row per currency the user has money or history in (the default currency at least).

    ``pending_as_tasker`` is what the registered providers say the tasker would receive (net of
    commission, after any refund), not the escrows' balances.
    """
    # The wallets and the escrows the user paid into, in one statement.
    available: dict[str, Decimal] = {}
    held: dict[str, Decimal] = {}
    totals = (
        LedgerAccount.objects.filter(
            Q(kind=LedgerAccount.Kind.USER_WALLET, user=user) | Q(kind=LedgerAccount.Kind.ESCROW, client=user)
        )
        .order_by()
        .values_list("kind", "currency")
        .annotate(total=Sum("balance"))
    )
    for kind, currency, total in totals:
        (available if kind == LedgerAccount.Kind.USER_WALLET else held)[currency] = total
    pending = _pending_as_tasker(user)
    order = {code: i for i, code in enumerate(supported_currencies())}
    currencies = sorted(
        {settings.DEFAULT_CURRENCY, *available, *held, *pending}, key=lambda c: (order.get(c, len(order)), c)
    )
    return [
        WalletBalance(
            currency=currency,
            available=available.get(currency, ZERO),
            held_in_escrow=held.get(currency, ZERO),
            pending_as_tasker=pending.get(currency, ZERO),
        )
        for currency in currencies
    ]


def account_statement(
    *,
    account: LedgerAccount | None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    kind: str | None = None,
) -> QuerySet[Posting]:
    """The account's postings, newest first, with their entries; filters are inclusive dates."""
    if account is None:
        return Posting.objects.none()
    postings = Posting.objects.filter(account_id=account.pk).select_related("entry").order_by("-id")
    if date_from:
        postings = postings.filter(created_at__gte=_start_of_day(date_from))
    if date_to:
        postings = postings.filter(created_at__lt=_start_of_day(date_to + dt.timedelta(days=1)))
    if kind:
        postings = postings.filter(entry__kind=kind)
    return postings


def wallet_statement(
    *,
    user: User,
    currency: str,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    kind: str | None = None,
) -> QuerySet[Posting]:
    return account_statement(
        account=wallet_account_find(user=user, currency=currency), date_from=date_from, date_to=date_to, kind=kind
    )


# How entries' references are shown to people. An entry refers to a domain object of a higher
# app (an escrow), which wallets does not import: that app registers, per model ("payments.escrow"),
# ``describe(ids)`` -> ``{id: (label, url)}`` for a page of references in one query.
ReferenceDescriber = Callable[[list[str]], Mapping[str, tuple[str, str]]]
_REFERENCE_DESCRIBERS: dict[str, ReferenceDescriber] = {}


def statement_reference_register(*, model: str, describe: ReferenceDescriber) -> None:
    """Show entries referring to ``model`` (``app_label.model``) with ``describe``'s label and link."""
    _REFERENCE_DESCRIBERS[model.lower()] = describe


def _reference_descriptions(postings: list[Posting]) -> dict[tuple[int, str], tuple[str, str]]:
    from django.contrib.contenttypes.models import ContentType

    wanted: dict[int, set[str]] = {}
    for posting in postings:
        entry = posting.entry
        if entry.reference_type_id and entry.reference_id:
            wanted.setdefault(entry.reference_type_id, set()).add(entry.reference_id)
    described: dict[tuple[int, str], tuple[str, str]] = {}
    for type_id, ids in wanted.items():
        describe = _REFERENCE_DESCRIBERS.get(ContentType.objects.get_for_id(type_id).model_class()._meta.label_lower)
        if describe is None:
            continue
        for object_id, label_and_url in describe(sorted(ids)).items():
            described[(type_id, object_id)] = label_and_url
    return described


def entries_describe(*, entries: Iterable[JournalEntry]) -> dict[int, tuple[str, str]]:
    """``{entry id: (label, url)}``: what each entry was for, as people know it (a task's title and
    its page), through the describers apps registered; an entry without one keeps its reference."""
    entries = list(entries)
    described = _reference_descriptions([Posting(entry=entry) for entry in entries])
    return {
        entry.pk: described.get((entry.reference_type_id, entry.reference_id), (entry.reference, ""))
        for entry in entries
    }


def statement_rows(*, account: LedgerAccount, postings: Iterable[Posting]) -> list[StatementRow]:
    """Rows with the running balance after each posting (postings given newest first).

    Wallets and escrows carry ``balance_after`` on each posting. For platform accounts the
    balance after the newest posting shown is summed once, then walked back.
    """
    postings = list(postings)
    running: Decimal | None = None
    if postings and not account.tracks_balance:
        running = (
            Posting.objects.filter(account_id=account.pk, id__lte=postings[0].pk).aggregate(t=Sum("amount"))["t"]
            or ZERO
        )
    described = _reference_descriptions(postings)
    rows = []
    for posting in postings:
        label, url = described.get(
            (posting.entry.reference_type_id, posting.entry.reference_id), (posting.entry.reference, "")
        )
        if running is not None:
            balance_after = running
            running -= posting.amount
        else:
            balance_after = posting.balance_after
        rows.append(
            StatementRow(
                posting_id=posting.pk,
                entry_id=posting.entry_id,
                created_at=posting.created_at,
                kind=posting.entry.kind,
                kind_label=posting.entry.get_kind_display(),
                memo=posting.entry.memo,
                reference=posting.entry.reference,
                currency=posting.currency,
                amount=posting.amount,
                balance_after=balance_after,
                reference_label=label,
                reference_url=url,
            )
        )
    return rows


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# --- Invariants ------------------------------------------------------------------------------

_CHECKS: list[tuple[str, str, str]] = [
    (
        "entry_unbalanced",
        """SELECT entry_id, currency, sum(amount) FROM wallets_posting
            GROUP BY entry_id, currency HAVING sum(amount) <> 0 ORDER BY entry_id LIMIT 50""",
        "Journal entry {0} does not balance: its {1} postings sum to {2}.",
    ),
    (
        "entry_too_few_postings",
        """SELECT e.id, count(p.id) FROM wallets_journalentry e LEFT JOIN wallets_posting p ON p.entry_id = e.id
            GROUP BY e.id HAVING count(p.id) < 2 ORDER BY e.id LIMIT 50""",
        "Journal entry {0} has {1} posting(s); at least two are needed.",
    ),
    (
        "posting_zero",
        "SELECT id, entry_id FROM wallets_posting WHERE amount = 0 ORDER BY id LIMIT 50",
        "Posting {0} of journal entry {1} is zero.",
    ),
    (
        "posting_currency_mismatch",
        """SELECT p.id, p.currency, a.id, a.currency FROM wallets_posting p
             JOIN wallets_ledgeraccount a ON a.id = p.account_id
            WHERE p.currency <> a.currency ORDER BY p.id LIMIT 50""",
        "Posting {0} is in {1} but its account {2} is in {3}.",
    ),
    (
        "balance_mismatch",
        """SELECT a.id, a.kind, a.currency, a.balance, coalesce(s.total, 0)
             FROM wallets_ledgeraccount a
             LEFT JOIN (SELECT account_id, sum(amount) AS total FROM wallets_posting GROUP BY account_id) s
                    ON s.account_id = a.id
            WHERE a.kind IN ('user_wallet', 'escrow') AND a.balance <> coalesce(s.total, 0)
            ORDER BY a.id LIMIT 50""",
        "Account {0} ({1}, {2}) shows a balance of {3} but its postings sum to {4}.",
    ),
    (
        "balance_negative",
        """SELECT a.id, a.kind, a.currency, coalesce(sum(p.amount), 0)
             FROM wallets_ledgeraccount a JOIN wallets_posting p ON p.account_id = a.id
            WHERE a.kind IN ('user_wallet', 'escrow')
            GROUP BY a.id HAVING sum(p.amount) < 0 OR min(a.balance) < 0 ORDER BY a.id LIMIT 50""",
        "Account {0} ({1}, {2}) is negative: {3}; wallets and escrows must never go below zero.",
    ),
    (
        "running_balance_mismatch",
        """SELECT id, account_id, balance_after, running FROM (
               SELECT p.id, p.account_id, p.balance_after,
                      sum(p.amount) OVER (PARTITION BY p.account_id ORDER BY p.id) AS running
                 FROM wallets_posting p JOIN wallets_ledgeraccount a ON a.id = p.account_id
                WHERE a.kind IN ('user_wallet', 'escrow')) r
            WHERE balance_after IS DISTINCT FROM running ORDER BY id LIMIT 50""",
        "Posting {0} records a balance of {2} for account {1}, but the postings up to it sum to {3}.",
    ),
    (
        "platform_balance_column",
        """SELECT id, kind, currency, balance FROM wallets_ledgeraccount
            WHERE kind NOT IN ('user_wallet', 'escrow') AND balance <> 0 ORDER BY id LIMIT 50""",
        "Platform account {0} ({1}, {2}) has a balance column of {3}; platform balances come from postings.",
    ),
    (
        "ledger_not_zero",
        "SELECT currency, sum(amount) FROM wallets_posting GROUP BY currency HAVING sum(amount) <> 0 ORDER BY currency",
        "The whole ledger does not sum to zero in {0}: {1} left over.",
    ),
]


# Checks other apps add (name -> SQL, message), so that the ledger can be compared with their own
# tables without wallets importing them. Apps register theirs in ``AppConfig.ready()``.
_REGISTERED_CHECKS: dict[str, tuple[str, str]] = {}


def ledger_check_register(*, name: str, sql: str, message: str) -> None:
    """Add a check to ``ledger_invariant_violations``, like the built-in ones.

    ``sql`` returns one row per violation (at most 50, ordered); ``message`` is formatted with
    that row's columns. Registering a name again replaces its check, so a repeated ``ready()``
    is harmless; a built-in check's name is refused.
    """
    if any(name == builtin for builtin, _, _ in _CHECKS):
        raise ValueError(f"{name} is a built-in ledger check and cannot be replaced.")
    _REGISTERED_CHECKS[name] = (sql, message)


def ledger_check_unregister(*, name: str) -> None:
    _REGISTERED_CHECKS.pop(name, None)


def ledger_checks_registered() -> list[str]:
    """The names of the checks other apps registered."""
    return sorted(_REGISTERED_CHECKS)


def ledger_invariant_violations() -> list[Violation]:
    """Every broken ledger invariant, as readable sentences (at most 50 per kind). Empty when sound.

    Runs the built-in checks, then those other apps registered with ``ledger_check_register``.
    Reads the whole ledger in one REPEATABLE READ snapshot when called outside a transaction,
    so concurrent posts cannot produce false alarms.
    """
    checks = [*_CHECKS, *((name, sql, message) for name, (sql, message) in _REGISTERED_CHECKS.items())]
    violations: list[Violation] = []
    with connection.cursor() as cursor:
        if connection.get_autocommit():
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            for check, sql, message in checks:
                cursor.execute(sql)
                violations.extend(Violation(check, message.format(*row)) for row in cursor.fetchall())
        finally:
            if connection.get_autocommit():
                cursor.execute("COMMIT")
    return violations


# --- Flows, for reporting ----------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerFlow:
    """The sum of the postings of one UTC day, currency, account kind and entry kind."""

    day: dt.date
    currency: str
    account_kind: str
    entry_kind: str
    amount: Decimal
    postings: int


LEDGER_FLOWS_SQL = """
    SELECT (p.created_at AT TIME ZONE %s)::date, p.currency, a.kind, e.kind, sum(p.amount), count(*)
      FROM wallets_posting p
      JOIN wallets_ledgeraccount a ON a.id = p.account_id
      JOIN wallets_journalentry e ON e.id = p.entry_id
     WHERE p.created_at >= %s AND (%s::timestamptz IS NULL OR p.created_at < %s)
     GROUP BY 1, 2, 3, 4"""


def ledger_flows(*, since: dt.datetime, until: dt.datetime | None = None) -> list[LedgerFlow]:
    """Every posting made in ``[since, until)`` (``until=None``: up to now), summed per day of
    ``settings.TIME_ZONE``, currency, account kind and entry kind.

    Every figure of a revenue report is a signed sum of these (gross volume: the processor's side
    of funding entries; fee revenue: the fee revenue account; ...), so one pass serves them all.
    A posting's ``created_at`` is its transaction's start, which ``ledger_settled_before`` relies on.
    """
    with connection.cursor() as cursor:
        cursor.execute(LEDGER_FLOWS_SQL, [settings.TIME_ZONE, since, until, until])
        return [LedgerFlow(*row) for row in cursor.fetchall()]


def ledger_settled_before(*, margin: dt.timedelta = dt.timedelta(seconds=5)) -> dt.datetime:
    """An instant before which every posting is committed: no open transaction began earlier.

    A posting's ``created_at`` is the start of the transaction that made it, so once every
    transaction that began before an instant has ended, the postings dated before it are final.
    The answer is the start of the oldest open transaction on this database (the caller's own
    included: postings it made are not committed yet), or now, less ``margin`` (a transaction that
    has just begun may not be listed yet). A report summing postings before this instant once
    never has to sum them again. Needs to see other sessions' ``xact_start`` in
    ``pg_stat_activity``: the same database role, or ``pg_read_all_stats``.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a fresh view of the sessions, not the cached one
        cursor.execute(
            """SELECT least(clock_timestamp(), min(xact_start)) - %s FROM pg_stat_activity
                WHERE datname = current_database() AND xact_start IS NOT NULL
                  AND backend_type = 'client backend'""",
            [margin],
        )
        return cursor.fetchone()[0]
