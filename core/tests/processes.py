"""Real Holdfast processes for fault tests: a web server (uvicorn, as in the Procfile) and a Celery
worker, each its own subprocess on the test database, the real Redis and the Stripe emulator, that
a test can kill with SIGKILL mid-operation and start again. Plus what such a test waits on: a
database backend blocked on a row lock the test holds, a line in a log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """The test database on the embedded server (``DATABASE_URL`` names the development one)."""
    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def libpq_url() -> str:
    """The test database as a libpq URL, for a connection of the test's own (to hold a row lock)."""
    return test_database_url().replace("postgres://", "postgresql://", 1)


def wait_for(condition: Callable[[], object], *, timeout: float = 60.0, what: str = "", log: Path | None = None):
    """Poll ``condition`` until it is truthy (returned); fail with ``what`` and the log's tail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text()[-4000:] if log and log.exists() else ""
            raise AssertionError(f"timed out waiting for {what or condition}\n{tail}")
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(stripe_emulator_url: str, extra: dict[str, str] | None) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "STRIPE_EMULATOR_URL": stripe_emulator_url,
        "STRIPE_NAMESPACE": settings.STRIPE_NAMESPACE,
        "PYTHONUNBUFFERED": "1",
        **(extra or {}),
    }


class _Process:
    log: Path
    process: subprocess.Popen | None = None

    def _start(self, command: list[str], env: dict[str, str]) -> None:
        with open(self.log, "a") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no handler runs, no transaction commits, no message is acknowledged."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class WebServer(_Process):
    """``uvicorn config.asgi:application`` (one process, as the Procfile runs it but with one worker)."""

    def __init__(self, *, stripe_emulator_url: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = _environment(stripe_emulator_url, env)

    def start(self) -> WebServer:
        command = [
            sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
            "--port", str(self.port), "--workers", "1", "--lifespan", "off", "--no-proxy-headers",
            "--log-level", "warning",
        ]  # fmt: skip
        self._start(command, self.env)

        def up() -> bool:
            assert self.alive(), self.log.read_text()[-3000:]
            try:
                return requests.get(self.url + "/favicon.ico", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(up, timeout=60, what="the web server to answer", log=self.log)
        return self


class Worker(_Process):
    """``celery -A config worker`` with the solo pool: SIGKILL ends the process that runs the task,
    as a machine's OOM killer or a lost container would."""

    def __init__(self, *, stripe_emulator_url: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.env = _environment(stripe_emulator_url, env)
        self.starts = 0

    def start(self) -> Worker:
        self.starts += 1
        ready_before = self.log.read_text().count("ready.") if self.log.exists() else 0
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO",
            "--hostname", f"faults-{os.getpid()}-{self.starts}@%h", "--without-gossip", "--without-mingle",
            "--without-heartbeat",
        ]  # fmt: skip
        self._start(command, self.env)

        def ready() -> bool:
            assert self.alive(), self.log.read_text()[-3000:]
            return self.log.read_text().count("ready.") > ready_before

        wait_for(ready, timeout=90, what="the worker to be ready", log=self.log)
        return self


def backends_waiting_for_a_lock() -> int:
    """How many connections to the test database are blocked on a lock right now."""
    with psycopg.connect(libpq_url(), autocommit=True) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return count


class RowLock:
    """A transaction of the test's own holding ``SELECT … FOR UPDATE`` on one row until released:
    whatever else needs that row waits, mid-transaction, where the test wants it to."""

    def __init__(self, table: str, pk: int) -> None:
        self.conn = psycopg.connect(libpq_url())
        self.conn.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [pk])  # noqa: S608 (a table name of ours)

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()

    def __enter__(self) -> RowLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class EmbeddedPostgres:
    """The embedded PostgreSQL server the test database lives on (``config.embedded``), stopped
    and started for real with ``pg_ctl``, as an operator's restart or a failover would: a fast
    stop ends every connection and rolls back every open transaction."""

    def __init__(self) -> None:
        from config import embedded

        self.pgdata = (embedded.DATA_DIR / "pg").resolve()
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        self.socket_dir = lines[4]  # postmaster.pid: pid, data dir, start time, port, socket dir, …
        # pgserver runs PostgreSQL as its own system user when started by root.
        self.user = "pgserver" if os.geteuid() == 0 else None

    def _pg_ctl(self, *args: str) -> None:
        from pgserver import _commands

        _commands.pg_ctl(list(args), pgdata=self.pgdata, user=self.user, timeout=60)

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def running(self) -> bool:
        """Whether the server is up (``pg_ctl status``), for a test's ``finally``. Ask the instance made
        while it ran: a new one cannot be made while it is down (it reads ``postmaster.pid``)."""
        try:
            self._pg_ctl("status")
        except subprocess.CalledProcessError:
            return False
        return True

    def start(self) -> None:
        log = str(self.pgdata / "log")
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", log, "start")


class TableLock(RowLock):
    """A transaction of the test's own holding ``LOCK TABLE … IN ACCESS EXCLUSIVE MODE`` until
    released: even a plain read of the table waits (a row lock only stops writers and lockers), so a
    test can stop an operation at the first statement that touches the table, after its commit."""

    def __init__(self, table: str) -> None:
        self.conn = psycopg.connect(libpq_url())
        self.conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")  # a table name of ours


def lock_waiters() -> list[dict]:
    """The connections to the test database blocked on a lock right now: ``pid``, ``query`` (the
    statement that waits) and ``wrote`` (its transaction has written something already)."""
    with psycopg.connect(libpq_url(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, query, backend_xid IS NOT NULL FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock' ORDER BY pid"
        ).fetchall()
    return [{"pid": pid, "query": query, "wrote": wrote} for pid, query, wrote in rows]


def backend_ended(pid: int) -> bool:
    """Whether the database backend ``pid`` is gone (its client died: PostgreSQL ended it and rolled
    back whatever transaction it had open)."""
    with psycopg.connect(libpq_url(), autocommit=True) as conn:
        return conn.execute("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", [pid]).fetchone()[0]
