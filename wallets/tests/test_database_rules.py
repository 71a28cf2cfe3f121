"""PostgreSQL itself refuses what would break the ledger, even from raw SQL."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from wallets import selectors, services
from wallets.models import JournalEntry, LedgerAccount, Posting
from wallets.tests.factories import WalletAccountFactory, fund

pytestmark = pytest.mark.django_db(transaction=True)


def _entry_sql(cursor, key):
    cursor.execute(
        "INSERT INTO wallets_journalentry (idempotency_key, kind, reference, memo) "
        "VALUES (%s, 'adjustment', 'raw', '') RETURNING id",
        [key],
    )
    return cursor.fetchone()[0]


def _posting_sql(cursor, entry_id, account, amount, currency=None):
    cursor.execute(
        "INSERT INTO wallets_posting (entry_id, account_id, currency, amount) VALUES (%s, %s, %s, %s)",
        [entry_id, account.pk, currency or account.currency, Decimal(amount)],
    )


@pytest.fixture
def wallet():
    account = WalletAccountFactory()
    fund(account, "50.00")
    return account


@pytest.fixture
def processor():
    return services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD")


def _assert_untouched(wallet):
    assert selectors.account_balance(account=wallet) == Decimal("50.00")
    assert JournalEntry.objects.count() == 1
    assert Posting.objects.count() == 2
    assert selectors.ledger_invariant_violations() == []


def test_unbalanced_entry_is_refused_at_commit(wallet, processor):
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic(), connection.cursor() as cur:
        entry_id = _entry_sql(cur, "raw-unbalanced")
        _posting_sql(cur, entry_id, wallet, "5.00")
        _posting_sql(cur, entry_id, processor, "-4.99")
    _assert_untouched(wallet)


def test_entry_with_a_single_posting_or_none_is_refused(wallet, processor):
    with pytest.raises(IntegrityError, match="at least two"), transaction.atomic(), connection.cursor() as cur:
        _entry_sql(cur, "raw-empty")
    _assert_untouched(wallet)


def test_zero_posting_is_refused(wallet, processor):
    refused = pytest.raises(IntegrityError, match="posting_amount_not_zero")
    with refused, transaction.atomic(), connection.cursor() as cur:
        entry_id = _entry_sql(cur, "raw-zero")
        _posting_sql(cur, entry_id, wallet, "0")
    _assert_untouched(wallet)


def test_posting_in_another_currency_than_its_account_is_refused(wallet, processor):
    with pytest.raises(IntegrityError, match="posting in EUR"), transaction.atomic(), connection.cursor() as cur:
        entry_id = _entry_sql(cur, "raw-currency")
        _posting_sql(cur, entry_id, wallet, "5.00", currency="EUR")
    _assert_untouched(wallet)


def test_overdrawing_a_wallet_is_refused(wallet, processor):
    refused = pytest.raises(IntegrityError, match="ledger_account_balance_never_negative")
    with refused, transaction.atomic(), connection.cursor() as cur:
        entry_id = _entry_sql(cur, "raw-overdraft")
        _posting_sql(cur, entry_id, wallet, "-50.01")
        _posting_sql(cur, entry_id, processor, "50.01")
    _assert_untouched(wallet)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE wallets_posting SET amount = amount * 2",
        "DELETE FROM wallets_posting",
        "UPDATE wallets_journalentry SET memo = 'edited'",
        "DELETE FROM wallets_journalentry",
        "UPDATE wallets_ledgeraccount SET balance = 1000 WHERE kind = 'user_wallet'",
        "UPDATE wallets_ledgeraccount SET currency = 'EUR'",
    ],
)
def test_history_and_balances_cannot_be_rewritten(wallet, processor, statement):
    with pytest.raises(IntegrityError, match="ledger: "), connection.cursor() as cur:
        cur.execute(statement)
    _assert_untouched(wallet)


def test_postings_cannot_be_added_to_an_entry_later(wallet, processor):
    entry = JournalEntry.objects.get()
    with pytest.raises(IntegrityError, match="in the transaction that created it"), connection.cursor() as cur:
        _posting_sql(cur, entry.pk, wallet, "-1.00")
    _assert_untouched(wallet)


def test_a_balanced_raw_entry_is_accepted_and_keeps_the_cached_balance_true(wallet, processor):
    with transaction.atomic(), connection.cursor() as cur:
        entry_id = _entry_sql(cur, "raw-ok")
        _posting_sql(cur, entry_id, wallet, "-20.00")
        _posting_sql(cur, entry_id, processor, "20.00")
    assert selectors.account_balance(account=wallet) == Decimal("30.00")
    assert Posting.objects.get(entry_id=entry_id, account=wallet).balance_after == Decimal("30.00")
    assert selectors.ledger_invariant_violations() == []
