"""The payout job on a real Celery worker (its own process, the test database, the real Redis
broker, the Stripe emulator over HTTP): requested → approved → executed by the worker → paid;
and a payout waiting for card funds executed again by the beat task's enqueueing."""

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from payouts import services
from payouts.models import Payout
from payouts.tests.helpers import bank_answers, finance_user, platform_funds_available, tasker_earning
from wallets.selectors import ledger_invariant_violations

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def _test_database_url() -> str:
    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture
def celery_worker(stripe_emulator, tmp_path):
    from config.celery_app import app

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "STRIPE_EMULATOR_URL": settings.STRIPE_EMULATOR_URL,
        "STRIPE_NAMESPACE": settings.STRIPE_NAMESPACE,
        "STRIPE_MAX_WRITES_PER_SECOND": "0",
    }
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--hostname", f"payouts-test-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False  # this process sends the tasks; the worker runs them
    try:
        deadline = time.monotonic() + 120
        while "ready." not in log.read_text():
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        yield log
    finally:
        app.conf.task_always_eager = previous
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _wait_for(condition, log: Path, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.25)


def _status(payout: Payout) -> str:
    return Payout.objects.values_list("status", flat=True).get(pk=payout.pk)


def test_worker_executes_an_approved_payout_and_it_is_paid(celery_worker, stripe_emulator):
    tasker = tasker_earning("100.00")
    platform_funds_available(stripe_emulator)
    payout = services.payout_request(tasker=tasker, amount="60.00", currency="USD")  # first: approval
    assert payout.status == Payout.Status.REQUESTED

    services.payout_approve(payout=payout, actor=finance_user())  # enqueues the job on commit

    _wait_for(lambda: _status(payout) == Payout.Status.IN_TRANSIT, celery_worker)
    bank_answers(stripe_emulator)
    services.payouts_refresh_in_transit(older_than=__import__("datetime").timedelta(0))
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PAID and payout.net == Decimal("60.00")
    assert "payouts.tasks.payout_execute" in celery_worker.read_text()
    assert ledger_invariant_violations() == []


def test_payout_waiting_for_funds_is_sent_by_the_worker_when_beat_enqueues_it(celery_worker, stripe_emulator, settings):
    settings.PAYOUT_FIRST_NEEDS_APPROVAL = False
    tasker = tasker_earning("100.00")
    payout = services.payout_request(tasker=tasker, amount="40.00", currency="USD")
    _wait_for(lambda: Payout.objects.get(pk=payout.pk).waiting == Payout.Waiting.PLATFORM_FUNDS, celery_worker)

    platform_funds_available(stripe_emulator)
    Payout.objects.filter(pk=payout.pk).update(next_attempt_at=payout.requested_at)  # its time has come
    from payouts.tasks import payouts_execute_due

    assert payouts_execute_due.apply().result == 1  # beat's task, run here; the worker executes the payout
    _wait_for(lambda: _status(payout) == Payout.Status.IN_TRANSIT, celery_worker)
    assert ledger_invariant_violations() == []
