"""`make run`: start Holdfast with everything it needs on this machine.

Starts the embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are set), the Stripe
emulator (unless STRIPE_SECRET_KEY is set), migrates, loads the demo data, then runs the web
server, a Celery worker and Celery beat together. Ctrl-C stops all of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
BIN = Path(sys.executable).parent

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("HOLDFAST_EMBEDDED_SERVICES", "true")
os.environ.setdefault("PYTHONUNBUFFERED", "1")

from config import embedded  # noqa: E402


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, env=os.environ)


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


def _wait_until_up(url: str, timeout: float = 15.0) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (our own localhost URL)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"The Stripe emulator did not start at {url}")


def main() -> int:
    port = os.environ.setdefault("HOLDFAST_PORT", "8000")
    os.environ.setdefault("HOLDFAST_SITE_URL", f"http://127.0.0.1:{port}")
    started_postgres = False
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded.postgres_url()
        started_postgres = True
        print(f"PostgreSQL (embedded): data in {embedded.DATA_DIR / 'pg'}")
    if not os.environ.get("REDIS_URL"):
        # The worker, beat and web processes share this one Redis; it lives as long as this process.
        os.environ["REDIS_URL"] = embedded.redis_url()
        print(f"Redis (embedded): {os.environ['REDIS_URL']}")

    emulator = None
    if os.environ.get("STRIPE_SECRET_KEY"):
        print("Stripe: using the configured STRIPE_SECRET_KEY")
    else:
        emulator_port = os.environ.setdefault("STRIPE_EMULATOR_PORT", "12111")
        os.environ.setdefault("STRIPE_EMULATOR_URL", f"http://127.0.0.1:{emulator_port}")
        # Started before the others: the setup step registers webhook endpoints with it.
        emulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stripe_emulator",
                "--port",
                emulator_port,
                "--state",
                str(embedded.DATA_DIR / "stripe-emulator.json"),
            ],
            cwd=BASE_DIR,
            env=os.environ,
        )
        _wait_until_up(f"{os.environ['STRIPE_EMULATOR_URL']}/emulator/health")
        print(f"Stripe: emulator at {os.environ['STRIPE_EMULATOR_URL']} (set STRIPE_SECRET_KEY to use Stripe)")

    os.environ.update(procfile_environment(data_dir=embedded.DATA_DIR, environ=os.environ))
    try:
        manage("migrate", "--noinput")
        manage("holdfast_setup")
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
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            # honcho got the same SIGINT from the terminal and is stopping its children.
            return honcho.wait()
    finally:
        if emulator is not None:
            emulator.terminate()
            emulator.wait(timeout=10)
        if started_postgres:
            embedded.stop_postgres()


if __name__ == "__main__":
    sys.exit(main())
