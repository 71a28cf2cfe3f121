"""Concurrent posts on the real database: no overdraft, no lost update, no deadlock, one entry per key."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from wallets import selectors, services
from wallets.errors import InsufficientFunds
from wallets.models import JournalEntry, LedgerAccount
from wallets.tests.factories import WalletAccountFactory, fund

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


def _run_in_threads(work, count=THREADS):
    """Run ``work(i)`` in ``count`` threads released together; return their results or exceptions."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # recorded and asserted by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return results


def _move(source, target, amount, key):
    return services.ledger_post(
        idempotency_key=key,
        kind=JournalEntry.Kind.ADJUSTMENT,
        reference="test",
        lines=[(source, -Decimal(amount)), (target, Decimal(amount))],
        actor=None,
    )


def test_twenty_debits_at_once_never_overdraw():
    wallet = WalletAccountFactory()
    fund(wallet, "150.00")
    payouts = services.platform_account(kind=LedgerAccount.Kind.PAYOUTS_IN_TRANSIT, currency="USD")

    results = _run_in_threads(lambda i: _move(wallet, payouts, "10.00", f"debit-{i}"))

    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    posted = [r for r in results if isinstance(r, JournalEntry)]
    assert (len(posted), len(refused)) == (15, 5)
    assert selectors.account_balance(account=wallet) == Decimal("0.00")
    assert selectors.ledger_invariant_violations() == []


def test_twenty_threads_debiting_and_crediting_end_at_the_exact_balance():
    wallet = WalletAccountFactory()
    fund(wallet, "40.00")
    processor = services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD")
    payouts = services.platform_account(kind=LedgerAccount.Kind.PAYOUTS_IN_TRANSIT, currency="USD")

    def work(i):
        outcomes = []
        for n in range(5):
            try:
                if (i + n) % 2:
                    _move(wallet, payouts, "7.00", f"out-{i}-{n}")
                    outcomes.append(Decimal("-7.00"))
                else:
                    _move(processor, wallet, "3.00", f"in-{i}-{n}")
                    outcomes.append(Decimal("3.00"))
            except InsufficientFunds:
                outcomes.append(Decimal("0"))
        return outcomes

    results = _run_in_threads(work)

    assert all(isinstance(r, list) for r in results), results
    expected = Decimal("40.00") + sum(sum(r) for r in results)
    assert expected >= 0
    assert selectors.account_balance(account=wallet) == expected
    assert JournalEntry.objects.count() == 1 + sum(1 for r in results for o in r if o)
    assert selectors.ledger_invariant_violations() == []


def test_opposite_transfers_between_two_wallets_do_not_deadlock():
    a, b = WalletAccountFactory(), WalletAccountFactory()
    fund(a, "100.00")
    fund(b, "100.00")

    def work(i):
        for n in range(5):
            source, target = (a, b) if i % 2 else (b, a)
            _move(source, target, "1.00", f"swap-{i}-{n}")

    results = _run_in_threads(work)

    assert results == [None] * THREADS
    assert selectors.account_balance(account=a) + selectors.account_balance(account=b) == Decimal("200.00")
    assert selectors.account_balance(account=a) == Decimal("100.00")  # 10 threads each way, 5 moves each
    assert selectors.ledger_invariant_violations() == []


@pytest.mark.parametrize("between", ["wallets", "platform accounts"])
def test_two_threads_posting_the_same_key_create_one_entry(between):
    if between == "wallets":
        source, target = WalletAccountFactory(), WalletAccountFactory()
        fund(source, "25.00")
    else:  # no row to lock: the unique key alone decides
        source = services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD")
        target = services.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD")

    results = _run_in_threads(lambda i: _move(source, target, "25.00", "same-key"), count=2)

    assert all(isinstance(r, JournalEntry) for r in results), results
    assert results[0].pk == results[1].pk
    assert JournalEntry.objects.filter(idempotency_key="same-key").count() == 1
    assert selectors.account_balance(account=target) == Decimal("25.00")
    assert selectors.ledger_invariant_violations() == []
