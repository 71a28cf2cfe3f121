"""What every escrow test file needs: the emulator, and the ledger's invariants checked after each test."""

import pytest

from wallets.selectors import ledger_invariant_violations


@pytest.fixture
def ledger_holds():
    """After the test, every ledger invariant holds (balanced entries, escrow accounts = escrow rows)."""
    yield
    assert ledger_invariant_violations() == []


@pytest.fixture
def emulated_escrows(stripe_emulator, ledger_holds):
    """Escrow tests: the Stripe emulator running, and the ledger checked afterwards."""
    return stripe_emulator
