"""Fixtures shared by every app's tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    # Throttling counters live in the real Redis; each test starts with none.
    cache.clear()
    yield


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(scope="session")
def stripe_emulator_server():
    """One Stripe emulator on a free port for the whole run; the app reaches it through the real SDK."""
    from django.conf import settings

    from stripe_emulator.server import EmulatorServer

    server = EmulatorServer(port=0, state_path=None, retry_backoff=0.05).start()
    previous = settings.STRIPE_EMULATOR_URL
    settings.STRIPE_EMULATOR_URL = server.url
    yield server
    settings.STRIPE_EMULATOR_URL = previous
    server.stop()


@pytest.fixture
def stripe_emulator(stripe_emulator_server):
    """The emulator, emptied, with webhook delivery back to normal (once each, in order, no delay)."""
    stripe_emulator_server.reset()
    stripe_emulator_server.configure_webhooks(duplicates=1, shuffle=False, delay=0)
    return stripe_emulator_server
