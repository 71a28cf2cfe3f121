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


@pytest.fixture
def celery_worker_process(live_server, stripe_emulator, tmp_path):
    """A real Celery worker in its own process, on the test database, the real Redis broker and the
    emulator; this process stops running tasks eagerly, so webhook tasks go through the broker to it.
    Yields the worker's log file."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    from urllib.parse import urlsplit, urlunsplit

    from django.conf import settings
    from django.db import connection

    from config.celery_app import app

    url = urlsplit(settings.DATABASE_URL)  # the same server, the test database
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"])),
        "REDIS_URL": settings.REDIS_URL,
        "STRIPE_EMULATOR_URL": stripe_emulator.url,
    }
    log = tmp_path / "worker.log"
    root = Path(__file__).resolve().parents[2]
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--concurrency", "1",
        "--loglevel", "INFO", "--hostname", f"test-wallet-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.control.purge()  # nothing left over from an interrupted run
    with open(log, "w") as out:
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        ready_by = time.monotonic() + 90
        while "ready." not in log.read_text():
            assert proc.poll() is None and time.monotonic() < ready_by, log.read_text()[-3000:]
            time.sleep(0.2)
        yield log
    finally:
        app.conf.task_always_eager = eager
        proc.send_signal(signal.SIGTERM)  # warm shutdown: the current task finishes first
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
