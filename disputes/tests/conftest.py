"""Dispute tests: the Stripe emulator, the ledger checked after each test, evidence files in a temporary folder."""

import pytest

from wallets.selectors import ledger_invariant_violations


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}


@pytest.fixture
def ledger_holds():
    yield
    assert ledger_invariant_violations() == []


@pytest.fixture
def emulated(stripe_emulator, ledger_holds):
    return stripe_emulator
