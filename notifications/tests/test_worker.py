"""With a real Celery worker (prefork, as in production): a committed escrow change reaches the
people it concerns as notifications, emails and a live message on their socket, all from the
worker process."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from celery import current_app
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection, transaction
from rest_framework_simplejwt.tokens import AccessToken

from config.asgi import application
from core import events
from notifications.models import Notification
from payments.events import EscrowFunded
from payments.tests.factories import escrow_funded

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def celery_worker(tmp_path):
    db = connection.settings_dict
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=settings.DATABASE_URL.replace("/holdfast?", f"/{db['NAME']}?", 1),
        REDIS_URL=settings.REDIS_URL,
    )
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1"]
    with open(log, "w") as out:
        worker = subprocess.Popen(
            [*command, "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "ready" not in log.read_text():
        assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    yield log
    worker.terminate()
    worker.wait(timeout=30)


@pytest.fixture
def tasks_to_the_worker():
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False  # this process sends its tasks to the worker
    yield
    current_app.conf.task_always_eager = previous


def test_the_worker_notifies_emails_and_pushes_live(stripe_emulator, request):
    escrow = escrow_funded(amount="100.00")  # tasks run eagerly in here: notified already
    Notification.objects.all().delete()
    celery_worker = request.getfixturevalue("celery_worker")
    request.getfixturevalue("tasks_to_the_worker")
    token = str(AccessToken.for_user(escrow.tasker))

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/live/")
        await socket.connect(timeout=10)
        await socket.send_json_to({"type": "auth", "token": token})
        assert (await socket.receive_json_from(timeout=10))["type"] == "ready"

        def commit_the_event():
            with transaction.atomic():
                events.publish(EscrowFunded(escrow_id=escrow.pk, task_id=escrow.task_id))

        from channels.db import database_sync_to_async

        await database_sync_to_async(commit_the_event)()
        seen = []
        while not any(m["topic"] == "notifications" for m in seen):
            seen.append(await socket.receive_json_from(timeout=60))
        await socket.disconnect()
        return seen

    try:
        seen = async_to_sync(scenario)()
    except TimeoutError:
        raise AssertionError(f"No live message; the worker said:\n{celery_worker.read_text()[-4000:]}") from None
    topics = {m["topic"] for m in seen}
    assert {"notifications"} <= topics
    new = next(m for m in seen if m["topic"] == "notifications")["data"]
    assert new["unread"] == 1 and new["notification"]["title"] == f"You can start “{escrow.task.title}”"
    told = Notification.objects.filter(kind="escrow_funded")
    assert sorted(told.values_list("recipient_id", flat=True)) == sorted([escrow.client_id, escrow.tasker_id])
    deadline = time.monotonic() + 30
    while told.filter(email_status="sent").count() < 2:  # sent by the worker, once each
        assert time.monotonic() < deadline, celery_worker.read_text()[-3000:]
        time.sleep(0.2)
