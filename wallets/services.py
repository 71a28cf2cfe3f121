"""Writes to the ledger. ``ledger_post`` is the only way money moves; everything else finds accounts.

How other apps use it (e.g. releasing an escrow)::

    escrow_acct = escrow_account_get_or_create(escrow=escrow, currency="USD", client=c, tasker=t)
    ledger_post(
        idempotency_key=f"escrow:{escrow.pk}:release",
        kind=JournalEntry.Kind.ESCROW_RELEASE,
        reference=escrow,
        lines=[
            (escrow_acct, -client_total),
            (wallet_account_get_or_create(user=t, currency="USD"), tasker_net),
            (platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD"), platform_revenue),
        ],
        actor=actor,
    )

Amounts are signed: positive credits an account (wallets and escrows grow), negative debits it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction

from accounts.models import User
from core import sql
from core.errors import ValidationError
from core.money import decimal_places, quantize, validate_currency
from wallets.errors import IdempotencyKeyReused, InsufficientFunds, UnbalancedEntry
from wallets.models import JournalEntry, LedgerAccount, Posting

Line = tuple[LedgerAccount, Decimal]


# --- Accounts ------------------------------------------------------------------------------


def account_get_or_create(
    *,
    kind: str,
    currency: str,
    user: User | None = None,
    owner: models.Model | None = None,
    client: User | None = None,
    tasker: User | None = None,
    user_id: int | None = None,
) -> LedgerAccount:
    """The one account of ``kind`` for this owner and currency, created on first use.

    A wallet's owner is ``user`` (or just its ``user_id``). Safe to call concurrently (a unique
    constraint decides the winner). For escrow accounts, ``client`` and ``tasker`` are recorded so
    wallets can show money held and pending; a tasker given later is filled in.
    """
    lookup = _account_lookup(kind=kind, currency=currency, user_id=user.pk if user else user_id, owner=owner)
    account, created = LedgerAccount.objects.get_or_create(**lookup, defaults={"client": client, "tasker": tasker})
    if not created and kind == LedgerAccount.Kind.ESCROW:
        missing = {}
        if client is not None and account.client_id is None:
            missing["client"] = client
        if tasker is not None and account.tasker_id is None:
            missing["tasker"] = tasker
        if missing:
            LedgerAccount.objects.filter(pk=account.pk).update(**missing)
            for field, value in missing.items():
                setattr(account, field, value)
    return account


def accounts_get_or_create(*wanted: dict) -> list[LedgerAccount]:
    """Several accounts at once, in the order asked: one query when they all exist already.

    Each item holds the keyword arguments of ``account_get_or_create``; an account not there yet
    (or an escrow account still missing its client or tasker) goes through it. Written as SQL
    because ``escrow_release`` calls it for every release (see bench/escrow_bench.py).
    """
    if not wanted:
        return []
    lookups = [
        _account_lookup(
            kind=w["kind"],
            currency=w["currency"],
            user_id=w["user"].pk if w.get("user") else w.get("user_id"),
            owner=w.get("owner"),
        )
        for w in wanted
    ]
    # The unique key treats NULLs as equal; "= NULL" never matches, so those columns say IS NULL.
    where, params = [], []
    for lookup in lookups:
        where.append(
            " AND ".join(f"{column} = %s" if v is not None else f"{column} IS NULL" for column, v in lookup.items())
        )
        params += [v for v in lookup.values() if v is not None]
    query = f"SELECT {sql.columns(LedgerAccount)} FROM {LedgerAccount._meta.db_table} WHERE ({') OR ('.join(where)})"
    found = {
        (a.kind, a.currency, a.user_id, a.owner_type_id, a.owner_id): a for a in sql.fetch(LedgerAccount, query, params)
    }
    accounts = []
    for want, lookup in zip(wanted, lookups, strict=True):
        account = found.get(tuple(lookup.values()))
        incomplete = account is not None and (
            (want.get("client") is not None and account.client_id is None)
            or (want.get("tasker") is not None and account.tasker_id is None)
        )
        accounts.append(account_get_or_create(**want) if account is None or incomplete else account)
    return accounts


def _account_lookup(*, kind: str, currency: str, user_id: int | None, owner: models.Model | None) -> dict:
    """The unique key of an account, checked: kind, currency, user_id, owner_type_id, owner_id."""
    currency = validate_currency(currency)
    if kind not in LedgerAccount.Kind.values:
        raise ValidationError(f"{kind} is not a kind of ledger account.", code="ledger_account_kind_invalid")
    if kind == LedgerAccount.Kind.USER_WALLET and (user_id is None or owner is not None):
        raise ValidationError("A wallet belongs to exactly one user.", code="ledger_account_owner_invalid")
    if kind == LedgerAccount.Kind.ESCROW and (owner is None or owner.pk is None or user_id is not None):
        raise ValidationError("An escrow account belongs to a saved escrow.", code="ledger_account_owner_invalid")
    if kind in LedgerAccount.PLATFORM_KINDS and (user_id is not None or owner is not None):
        raise ValidationError("Platform accounts have no owner.", code="ledger_account_owner_invalid")
    return {
        "kind": kind,
        "currency": currency,
        "user_id": user_id,
        "owner_type_id": ContentType.objects.get_for_model(owner).pk if owner is not None else None,
        "owner_id": str(owner.pk) if owner is not None else None,
    }


def wallet_account_get_or_create(*, user: User, currency: str) -> LedgerAccount:
    return account_get_or_create(kind=LedgerAccount.Kind.USER_WALLET, currency=currency, user=user)


def escrow_account_get_or_create(
    *, escrow: models.Model, currency: str, client: User, tasker: User | None = None
) -> LedgerAccount:
    return account_get_or_create(
        kind=LedgerAccount.Kind.ESCROW, currency=currency, owner=escrow, client=client, tasker=tasker
    )


def platform_account(*, kind: str, currency: str) -> LedgerAccount:
    """A platform-wide account (fee revenue, processor balance, payouts in transit, chargeback losses)."""
    if kind not in LedgerAccount.PLATFORM_KINDS:
        raise ValidationError(f"{kind} is not a platform account.", code="ledger_account_kind_invalid")
    return account_get_or_create(kind=kind, currency=currency)


# --- Posting -------------------------------------------------------------------------------


def ledger_post(
    *,
    idempotency_key: str,
    kind: str,
    reference: models.Model | str,
    lines: Sequence[Line],
    actor: User | None,
    memo: str = "",
    savepoint: bool = True,
) -> JournalEntry:
    """Record one business event as a balanced journal entry, atomically.

    ``lines`` are ``(account, amount)`` pairs; amounts are Decimals in the account's currency,
    already rounded to its minor unit, non-zero, and summing to zero per currency.

    Called twice with the same ``idempotency_key`` and the same kind, reference and lines, it
    returns the first entry and moves nothing; with different ones it raises
    ``IdempotencyKeyReused``. If a wallet or escrow would go below zero it raises
    ``InsufficientFunds`` and records nothing. Wallet and escrow rows are locked in id order,
    so concurrent posts never deadlock on each other.

    Inside a caller's transaction the post is its own savepoint, so a caller may catch its errors
    and go on. A caller that lets every error abort its whole transaction passes
    ``savepoint=False`` and saves the two statements a savepoint costs.
    """
    with transaction.atomic(savepoint=savepoint):
        return _post(
            idempotency_key=idempotency_key, kind=kind, reference=reference, lines=lines, actor=actor, memo=memo
        )


def _post(
    *,
    idempotency_key: str,
    kind: str,
    reference: models.Model | str,
    lines: Sequence[Line],
    actor: User | None,
    memo: str,
) -> JournalEntry:
    if not idempotency_key or len(idempotency_key) > 200:
        raise ValidationError("An idempotency key of 1 to 200 characters is required.", code="idempotency_key_invalid")
    if kind not in JournalEntry.Kind.values:
        raise ValidationError(f"{kind} is not a kind of ledger entry.", code="ledger_entry_kind_invalid")
    checked_lines = _lines_validated(lines)
    memo = memo[: JournalEntry._meta.get_field("memo").max_length]  # a note for people; never a reason to fail
    reference_label, reference_type_id, reference_id = _reference_parts(reference)

    tracked_ids = sorted({account.pk for account, _ in checked_lines if account.tracks_balance})
    balances = _balances_locked(tracked_ids)

    changes: dict[int, Decimal] = defaultdict(Decimal)
    for account, amount in checked_lines:
        if account.tracks_balance:
            changes[account.pk] += amount
    for account, _ in checked_lines:
        if account.tracks_balance and balances[account.pk] + changes[account.pk] < 0:
            # A retry of an entry that already took the money is not an overdraft.
            existing = JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return _entry_replayed(existing, kind=kind, reference=reference_label, lines=checked_lines)
            raise InsufficientFunds(
                account_label=_account_label(account),
                currency=account.currency,
                available=balances[account.pk],
                required=-changes[account.pk],
            )

    entry = _entry_insert(
        idempotency_key=idempotency_key,
        kind=kind,
        reference=reference_label,
        reference_type_id=reference_type_id,
        reference_id=reference_id,
        memo=memo,
        actor_id=actor.pk if actor is not None else None,
    )
    if entry is None:
        existing = JournalEntry.objects.get(idempotency_key=idempotency_key)
        return _entry_replayed(existing, kind=kind, reference=reference_label, lines=checked_lines)

    _postings_insert(entry_id=entry.pk, lines=checked_lines)
    return entry


def _lines_validated(lines: Sequence[Line]) -> list[Line]:
    if len(lines) < 2:
        raise ValidationError("A ledger entry needs at least two lines.", code="ledger_entry_too_few_lines")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    checked: list[Line] = []
    for account, amount in lines:
        if not isinstance(account, LedgerAccount) or account.pk is None:
            raise ValidationError("Each line needs a saved ledger account.", code="ledger_account_invalid")
        if isinstance(amount, float) or not isinstance(amount, Decimal | int):
            raise ValidationError("Ledger amounts must be Decimals, never floats.", code="amount_invalid")
        amount = Decimal(amount)
        if not amount.is_finite() or amount == 0:
            raise ValidationError("Ledger amounts must be finite and not zero.", code="ledger_amount_zero")
        if amount != quantize(amount, account.currency):
            raise ValidationError(
                f"{account.currency} amounts have at most {decimal_places(account.currency)} decimal places.",
                code="amount_precision",
            )
        totals[account.currency] += amount
        checked.append((account, amount))
    unbalanced = {currency: str(total) for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedEntry(details={"left_over": unbalanced})
    return checked


def _reference_parts(reference: models.Model | str) -> tuple[str, int | None, str | None]:
    if isinstance(reference, models.Model):
        if reference.pk is None:
            raise ValidationError("A ledger entry must refer to a saved object.", code="ledger_reference_invalid")
        content_type = ContentType.objects.get_for_model(reference)
        return f"{reference._meta.label_lower}:{reference.pk}", content_type.pk, str(reference.pk)
    if not isinstance(reference, str) or len(reference) > 200:
        raise ValidationError(
            "A ledger reference is a model instance or a short label.", code="ledger_reference_invalid"
        )
    return reference, None, None


# The three statements of a post are written as SQL on purpose: building them with the ORM
# (select_for_update + bulk_create) cost about 0.7 ms of Python per post, as much as the database
# work itself, and halved throughput (see bench/ledger_bench.py). Everything else uses the ORM.


def _balances_locked(account_ids: list[int]) -> dict[int, Decimal]:
    """Lock wallet/escrow rows in id order (so concurrent posts cannot deadlock) and read their balances.

    FOR NO KEY UPDATE is exclusive against other posts but does not block foreign-key checks.
    """
    if not account_ids:
        return {}
    table = LedgerAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, balance FROM {table} WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", [account_ids]
        )
        return dict(cursor.fetchall())


def _postings_insert(*, entry_id: int, lines: list[Line]) -> None:
    """One multi-row INSERT; the posting trigger updates balances and fills balance_after."""
    table = Posting._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s)"] * len(lines))
    params: list = []
    for account, amount in lines:
        params += [entry_id, account.pk, account.currency, amount]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (entry_id, account_id, currency, amount) VALUES {values}", params)


def _entry_insert(
    *,
    idempotency_key: str,
    kind: str,
    reference: str,
    reference_type_id: int | None,
    reference_id: str | None,
    memo: str,
    actor_id: int | None,
) -> JournalEntry | None:
    """INSERT … ON CONFLICT DO NOTHING: None when another transaction recorded the key first.

    (The ORM has no ON CONFLICT … RETURNING; a savepoint around a plain INSERT would cost two
    more round trips on every post.)
    """
    table = JournalEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (idempotency_key, kind, reference, reference_type_id, reference_id, memo, actor_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, created_at, transaction_id",
            [idempotency_key, kind, reference, reference_type_id, reference_id, memo, actor_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    entry_id, created_at, transaction_id = row
    return JournalEntry(
        id=entry_id,
        idempotency_key=idempotency_key,
        kind=kind,
        reference=reference,
        reference_type_id=reference_type_id,
        reference_id=reference_id,
        memo=memo,
        actor_id=actor_id,
        created_at=created_at,
        transaction_id=transaction_id,
    )


def _entry_replayed(existing: JournalEntry, *, kind: str, reference: str, lines: list[Line]) -> JournalEntry:
    recorded = sorted(existing.postings.values_list("account_id", "amount"))
    requested = sorted((account.pk, amount) for account, amount in lines)
    if existing.kind != kind or existing.reference != reference or recorded != requested:
        raise IdempotencyKeyReused(details={"idempotency_key": existing.idempotency_key, "entry_id": existing.pk})
    return existing


def _account_label(account: LedgerAccount) -> str:
    if account.kind == LedgerAccount.Kind.USER_WALLET:
        return "the wallet"
    if account.kind == LedgerAccount.Kind.ESCROW:
        return "the escrow"
    return account.get_kind_display().lower()
