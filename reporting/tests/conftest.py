"""Reporting tests: the Stripe emulator for the money, and the ledger's invariants checked after each test."""

import pytest

from wallets.selectors import ledger_invariant_violations


@pytest.fixture
def emulated_escrows(stripe_emulator):
    yield stripe_emulator
    assert ledger_invariant_violations() == []
