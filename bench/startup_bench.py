"""How long `make run` takes to the first page, phase by phase.

Runs ``scripts/run.py`` with its own data directory and ports, notes when each phase's line
appears on its output, waits until the home page answers 200, then stops it (Ctrl-C, as a
developer would). The migrations are broken down per app from the time between their
``Applying … OK`` lines.

    .venv/bin/python bench/startup_bench.py                # a first start on empty data
    .venv/bin/python bench/startup_bench.py --warm         # then a second start on that data
    .venv/bin/python bench/startup_bench.py --data-dir /tmp/hf --port 8790 --emulator-port 12790

The virtualenv install (``make install``) is not part of it: time it with ``time make install``
on a clone without ``.venv``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# A phase ends when its line appears on run.py's output, in whatever order they come (the emulator
# starts in parallel with PostgreSQL and migrate); the last phase ends when the first page answers.
MARKERS = [
    ("PostgreSQL", re.compile(r"^PostgreSQL \(embedded\)")),
    ("Redis", re.compile(r"^Redis \(embedded\)")),
    ("emulator", re.compile(r"^Stripe: emulator at")),
    ("dj-stripe tables", re.compile(r"^dj-stripe: created its")),
    ("migrate", re.compile(r"^Migrations done|^\s*No migrations to apply")),
    ("set-up + demo data", re.compile(r"^Demo data ready")),
    ("web/worker/beat start", re.compile(r"^Holdfast is running")),
]
APPLYING = re.compile(r"^\s*Applying (?P<app>[\w]+)\.(?P<name>\w+)\.\.\.\s*OK")


def _first_page(url: str, deadline: float) -> float | None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own localhost URL)
                if response.status == 200:
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.2)
    return None


def one_start(*, data_dir: Path, port: int, emulator_port: int, timeout: float, verbose: bool) -> dict:
    env = {
        **os.environ,
        "HOLDFAST_DATA_DIR": str(data_dir),
        "HOLDFAST_PORT": str(port),
        "STRIPE_EMULATOR_PORT": str(emulator_port),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_EMULATOR_URL", "HOLDFAST_SITE_URL"):
        env.pop(name, None)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(BASE_DIR / "scripts" / "run.py")],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C goes to the whole group, as from a terminal
    )
    seen: dict[str, float] = {}
    migrations: list[tuple[str, float]] = []
    migrate_started: list[float] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.monotonic()
            if verbose:
                sys.stdout.write(f"{now - started:7.1f}  {line}")
            if line.startswith("Operations to perform") and not migrate_started:
                migrate_started.append(now)
            match = APPLYING.match(line)
            if match:
                migrations.append((match["app"], now))
            for phase, pattern in MARKERS:
                if phase not in seen and pattern.search(line):
                    seen[phase] = now

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    page_at = _first_page(f"http://127.0.0.1:{port}/", started + timeout)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    reader.join(timeout=5)
    if page_at is None:
        raise SystemExit(f"No first page within {timeout:.0f} s (run with --verbose to see the output)")

    phases: list[tuple[str, float]] = []
    previous = started
    for phase, at in sorted(seen.items(), key=lambda item: item[1]):
        phases.append((phase, at - previous))
        previous = at
    phases.append(("first page answers", page_at - previous))

    per_app: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    last = migrate_started[0] if migrate_started else None
    for app, at in migrations:
        if last is not None:
            per_app[app] += at - last
        counts[app] += 1
        last = at
    return {"total": page_at - started, "phases": phases, "per_app": per_app, "counts": counts}


def report(title: str, result: dict) -> None:
    print(f"\n{title}: first page after {result['total']:.1f} s")
    for phase, seconds in result["phases"]:
        print(f"  {phase:<24} {seconds:7.1f} s")
    if result["per_app"]:
        print("  migrations per app (count, seconds):")
        for app, seconds in sorted(result["per_app"].items(), key=lambda item: -item[1]):
            print(f"    {app:<22} {result['counts'][app]:4d} {seconds:7.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="empty or missing: a first start (default: a new temp dir)")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--emulator-port", type=int, default=12790)
    parser.add_argument("--warm", action="store_true", help="also time a second start on the same data")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--verbose", action="store_true", help="echo run.py's output with timestamps")
    args = parser.parse_args()

    temporary = args.data_dir is None
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="holdfast-startup-"))
    try:
        options = {"port": args.port, "emulator_port": args.emulator_port, "timeout": args.timeout}
        first = one_start(data_dir=data_dir, verbose=args.verbose, **options)
        report(f"Start on {'existing' if first['per_app'] == {} else 'empty'} data ({data_dir})", first)
        if args.warm:
            report("Second start, same data", one_start(data_dir=data_dir, verbose=args.verbose, **options))
    finally:
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
