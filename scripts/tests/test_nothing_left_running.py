"""Nothing of Holdfast keeps running after it is stopped: not after a test run ends (its embedded
PostgreSQL and Redis included), not after Ctrl-C on `make run`. Each runs with a data directory of
its own, so the processes it started can be told from everyone else's."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

BASE_DIR = Path(__file__).resolve().parents[2]
# What this test run set for itself; the run under test must choose its own.
OWN_SETTINGS = (
    "DATABASE_URL", "REDIS_URL", "HOLDFAST_DATA_DIR", "DJANGO_SETTINGS_MODULE", "STRIPE_EMULATOR_URL",
    "STRIPE_EMULATOR_PORT", "HOLDFAST_PORT", "HOLDFAST_SITE_URL", "XDG_RUNTIME_DIR", "HOLDFAST_EMBEDDED_SERVICES",
    "DJANGO_ALLOWED_HOSTS", "HOLDFAST_LIVE_PREFIX",
)  # fmt: skip


def _environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in OWN_SETTINGS}
    return {**env, "HOLDFAST_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **extra}


def _processes_using(data_dir: Path) -> dict[int, str]:
    """Live processes started for ``data_dir``: by their command line, working directory (the
    embedded Redis runs in it) or environment (the web server and the workers)."""
    found = {}
    for process in psutil.process_iter():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            command = " ".join(process.cmdline())
            if (
                str(data_dir) in command
                or process.cwd().startswith(str(data_dir))
                or process.environ().get("HOLDFAST_DATA_DIR", "").startswith(str(data_dir))
            ):
                found[process.pid] = command
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gone(pids, timeout: float = 20.0) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        left = {pid: command for pid, command in pids.items() if psutil.pid_exists(pid)}
        left = {pid: command for pid, command in left.items() if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def test_a_test_run_leaves_no_process_behind(tmp_path):
    data_dir = tmp_path / "data"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "core/tests/test_money.py", "-q", "-p", "no:cacheprovider"],
        cwd=BASE_DIR, env=_environment(data_dir), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert (data_dir / "pg" / "PG_VERSION").exists() and (data_dir / "redis.db").exists()  # both were started
    assert _gone(_processes_using(data_dir), timeout=5) == {}
    assert "Traceback" not in run.stderr, run.stderr[-2000:]


def test_ctrl_c_on_make_run_stops_every_process_it_started(tmp_path):
    data_dir = tmp_path / "data"
    log = tmp_path / "run.log"
    env = _environment(data_dir, HOLDFAST_PORT=str(_free_port()), STRIPE_EMULATOR_PORT=str(_free_port()))
    with open(log, "w") as out:
        # Its own session: Ctrl-C in a terminal signals the whole foreground process group.
        run = subprocess.Popen(
            [sys.executable, "scripts/run.py"], cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while "Holdfast answered" not in log.read_text():
            assert run.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        started = _processes_using(data_dir)
        commands = "\n".join(started.values())
        for part in ("postgres", "redis-server", "stripe_emulator", "uvicorn", "celery -A config worker", "beat"):
            assert part in commands, f"{part} not found among:\n{commands}"

        os.killpg(run.pid, signal.SIGINT)
        run.wait(timeout=90)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert _gone(started) == {}, log.read_text()[-3000:]
    assert _gone(_processes_using(data_dir), timeout=5) == {}
