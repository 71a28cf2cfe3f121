import pytest

from wallets.selectors import ledger_invariant_violations


@pytest.fixture
def ledger_holds():
    yield
    assert ledger_invariant_violations() == []


@pytest.fixture
def payouts_world(stripe_emulator, ledger_holds, settings):
    """The emulator running, the ledger checked afterwards, and approval only when asked for."""
    settings.PAYOUT_FIRST_NEEDS_APPROVAL = False
    return stripe_emulator


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what services enqueue on commit (the Celery tasks run eagerly in tests)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run
