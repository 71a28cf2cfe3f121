"""Stateful property test: random posts, retries and overdraft attempts never break the ledger."""

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from accounts.tests.factories import UserFactory
from core.money import quantize
from wallets import selectors, services
from wallets.errors import IdempotencyKeyReused, InsufficientFunds
from wallets.models import JournalEntry, LedgerAccount

pytestmark = pytest.mark.django_db

amounts = st.integers(min_value=1, max_value=20_000).map(lambda cents: Decimal(cents).scaleb(-2))
_machine_ids = itertools.count(1)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.run_id = next(_machine_ids)
        client, tasker, other = UserFactory(), UserFactory(), UserFactory()
        escrow_owner = UserFactory()  # stands in for an Escrow row
        self.escrow = services.escrow_account_get_or_create(
            escrow=escrow_owner, currency="USD", client=client, tasker=tasker
        )
        self.tracked = {
            "USD": [
                services.wallet_account_get_or_create(user=client, currency="USD"),
                services.wallet_account_get_or_create(user=tasker, currency="USD"),
                services.wallet_account_get_or_create(user=other, currency="USD"),
                self.escrow,
            ],
            "EUR": [services.wallet_account_get_or_create(user=other, currency="EUR")],
        }
        self.processor = {
            c: services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=c) for c in ("USD", "EUR")
        }
        self.fees = services.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD")
        self.tasker_wallet = self.tracked["USD"][1]
        self.accounts = [*self.tracked["USD"], *self.tracked["EUR"], *self.processor.values(), self.fees]
        # The model: what every balance must be. Platform accounts may hold history from other runs.
        self.expected = {a.pk: selectors.account_balance(account=a) for a in self.accounts}
        self.entries_expected = JournalEntry.objects.count()
        self.posted: list[tuple[str, str, list, int]] = []
        self.keys = itertools.count(1)

    def _post(self, kind, lines):
        key = f"prop-{self.run_id}-{next(self.keys)}"
        short = any(self.expected[a.pk] + amount < 0 for a, amount in lines if a.tracks_balance)
        try:
            entry = services.ledger_post(idempotency_key=key, kind=kind, reference="property", lines=lines, actor=None)
        except InsufficientFunds as exc:
            assert short, "refused although the money was there"
            assert exc.code == "insufficient_funds"
            return
        assert not short, "posted although it overdraws a wallet or escrow"
        for account, amount in lines:
            self.expected[account.pk] += amount
        self.entries_expected += 1
        self.posted.append((key, kind, lines, entry.pk))

    @rule(data=st.data(), currency=st.sampled_from(["USD", "EUR"]), amount=amounts)
    def deposit(self, data, currency, amount):
        target = data.draw(st.sampled_from(self.tracked[currency]))
        self._post(JournalEntry.Kind.ADJUSTMENT, [(self.processor[currency], -amount), (target, amount)])

    @rule(data=st.data(), amount=amounts)
    def transfer(self, data, amount):
        source = data.draw(st.sampled_from(self.tracked["USD"]))
        target = data.draw(st.sampled_from([a for a in self.tracked["USD"] if a.pk != source.pk]))
        self._post(JournalEntry.Kind.ADJUSTMENT, [(source, -amount), (target, amount)])

    @rule(amount=amounts, fee_percent=st.integers(min_value=1, max_value=50))
    def release(self, amount, fee_percent):
        fee = quantize(amount * fee_percent / 100, "USD")
        lines = [(self.escrow, -amount), (self.tasker_wallet, amount - fee)]
        if fee:
            lines.append((self.fees, fee))
        if amount - fee == 0:
            lines = [(self.escrow, -amount), (self.fees, amount)]
        self._post(JournalEntry.Kind.ESCROW_RELEASE, lines)

    @rule(amount=amounts)
    def payout_everything_and_more(self, amount):
        wallet = self.tasker_wallet
        too_much = self.expected[wallet.pk] + amount
        self._post(JournalEntry.Kind.PAYOUT, [(wallet, -too_much), (self.processor["USD"], too_much)])

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def retry_same_key(self, data):
        key, kind, lines, entry_id = data.draw(st.sampled_from(self.posted))
        entry = services.ledger_post(idempotency_key=key, kind=kind, reference="property", lines=lines, actor=None)
        assert entry.pk == entry_id

    @precondition(lambda self: self.posted)
    @rule(data=st.data(), extra=amounts)
    def reuse_key_with_other_lines(self, data, extra):
        key, kind, lines, _ = data.draw(st.sampled_from(self.posted))
        (first, first_amount), (second, second_amount), *rest = lines
        changed = [(first, first_amount - extra), (second, second_amount + extra), *rest]
        if first_amount - extra == 0 or second_amount + extra == 0:
            return
        with pytest.raises(IdempotencyKeyReused) as exc:
            services.ledger_post(idempotency_key=key, kind=kind, reference="property", lines=changed, actor=None)
        assert exc.value.code == "idempotency_key_reused"

    @invariant()
    def balances_match_the_model(self):
        for account in self.accounts:
            assert selectors.account_balance(account=account) == self.expected[account.pk], account
        assert JournalEntry.objects.count() == self.entries_expected

    @invariant()
    def ledger_invariants_hold(self):
        assert selectors.ledger_invariant_violations() == []


def test_ledger_state_machine():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
