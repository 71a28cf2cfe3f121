"""`make run`: start Holdfast with everything it needs on this machine.

Starts the embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are set), the Stripe
emulator (unless STRIPE_SECRET_KEY is set), migrates, loads the demo data, then runs the web
server, a Celery worker and Celery beat together. Ctrl-C stops all of them.

On an empty database the first start is mostly `migrate`; see scripts/first_migrate.py for how
dj-stripe's part of it is made fast, and bench/startup_bench.py to time each phase.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
BIN = Path(sys.executable).parent

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("HOLDFAST_EMBEDDED_SERVICES", "true")
os.environ.setdefault("PYTHONUNBUFFERED", "1")

from config import embedded  # noqa: E402


class Phases:
    """Wall time of each start-up phase, printed when the first page answers."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last = self.started
        self.done: list[tuple[str, float]] = []

    def mark(self, name: str) -> None:
        now = time.monotonic()
        self.done.append((name, now - self.last))
        self.last = now

    def summary(self) -> str:
        parts = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.done)
        return f"{time.monotonic() - self.started:.1f} s ({parts})"


def procfile_environment(*, data_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment honcho runs ``Procfile.dev``'s processes with.

    ``HOLDFAST_DATA_DIR`` is the data directory as an absolute path, created if missing: beat
    keeps its schedule there, wherever the directory is configured to be.
    """
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        **environ,
        "HOLDFAST_DATA_DIR": str(data_dir),
        "PATH": f"{BIN}{os.pathsep}{environ.get('PATH', '')}",
    }


def _wait_until_up(url: str, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (our own localhost URL)
                return True
        except OSError:
            time.sleep(0.2)
    return False


def _emulator_start() -> subprocess.Popen:
    emulator_port = os.environ.setdefault("STRIPE_EMULATOR_PORT", "12111")
    os.environ.setdefault("STRIPE_EMULATOR_URL", f"http://127.0.0.1:{emulator_port}")
    embedded.DATA_DIR.mkdir(parents=True, exist_ok=True)
    state = embedded.DATA_DIR / "stripe-emulator.json"
    command = [sys.executable, "-m", "stripe_emulator", "--port", emulator_port, "--state", str(state)]
    return subprocess.Popen(command, cwd=BASE_DIR, env=os.environ)


def _prepare(phases: Phases, *, emulator: subprocess.Popen | None) -> None:
    """Migrate, then the set-up and demo data, in this process (one Django start for both)."""
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    from scripts.first_migrate import migrate_database

    migrate_database(fast=os.environ.get("HOLDFAST_FAST_FIRST_MIGRATE", "true").lower() not in {"0", "false", "no"})
    print("Migrations done")
    phases.mark("migrate")
    if emulator is not None:
        # Started at the beginning, in parallel; the set-up registers webhook endpoints with it.
        if not _wait_until_up(f"{os.environ['STRIPE_EMULATOR_URL']}/emulator/health"):
            raise SystemExit(f"The Stripe emulator did not start at {os.environ['STRIPE_EMULATOR_URL']}")
        print(f"Stripe: emulator at {os.environ['STRIPE_EMULATOR_URL']} (set STRIPE_SECRET_KEY to use Stripe)")
    call_command("holdfast_setup")
    phases.mark("set-up and demo data")
    connections.close_all()


def _announce_when_up(url: str, phases: Phases) -> None:
    if _wait_until_up(url, timeout=300):
        phases.mark("web server")
        print(f"Holdfast answered at {url} after {phases.summary()}", flush=True)


def main() -> int:
    phases = Phases()
    port = os.environ.setdefault("HOLDFAST_PORT", "8000")
    os.environ.setdefault("HOLDFAST_SITE_URL", f"http://127.0.0.1:{port}")
    emulator = None
    if os.environ.get("STRIPE_SECRET_KEY"):
        print("Stripe: using the configured STRIPE_SECRET_KEY")
    else:
        emulator = _emulator_start()  # needs no database: starts while PostgreSQL starts and migrates
    started_postgres = started_redis = False
    try:
        if not os.environ.get("DATABASE_URL"):
            os.environ["DATABASE_URL"] = embedded.postgres_url()
            started_postgres = True
            print(f"PostgreSQL (embedded): data in {embedded.DATA_DIR / 'pg'}")
        if not os.environ.get("REDIS_URL"):
            # The worker, beat and web processes share this one Redis; it lives as long as this process.
            os.environ["REDIS_URL"] = embedded.redis_url()
            started_redis = True
            print(f"Redis (embedded): {os.environ['REDIS_URL']}")
        phases.mark("PostgreSQL and Redis")
        os.environ.update(procfile_environment(data_dir=embedded.DATA_DIR, environ=os.environ))
        _prepare(phases, emulator=emulator)
        print()
        print(f"Holdfast is running at http://127.0.0.1:{port}/  (back office: http://127.0.0.1:{port}/admin/)")
        print("Demo logins, all with the password holdfast-demo:")
        print("  client@holdfast.test   tasker@holdfast.test   support@holdfast.test")
        print("  finance@holdfast.test  admin@holdfast.test")
        print("Press Ctrl-C to stop everything.")
        print()
        honcho = subprocess.Popen(
            [str(BIN / "honcho"), "start", "-f", str(BASE_DIR / "Procfile.dev"), "-d", str(BASE_DIR)],
            env=os.environ,
            cwd=BASE_DIR,
        )
        threading.Thread(target=_announce_when_up, args=(f"http://127.0.0.1:{port}/", phases), daemon=True).start()
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            # honcho got the same SIGINT from the terminal and is stopping its children.
            return honcho.wait()
    finally:
        if emulator is not None:
            emulator.terminate()
            try:
                emulator.wait(timeout=10)
            except subprocess.TimeoutExpired:
                emulator.kill()
                emulator.wait()
        if started_postgres:
            embedded.stop_postgres()
        if started_redis:
            embedded.stop_redis()  # it is a server of its own: it would outlive this process


if __name__ == "__main__":
    sys.exit(main())
