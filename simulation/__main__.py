"""``python -m simulation --seed 7 --steps 20000`` (``make simulate SEED=7 STEPS=20000``).

Runs on its own database, ``holdfast_simulation``, on the embedded PostgreSQL (or ``DATABASE_URL``),
its own embedded Redis, an in-process Stripe emulator and a live Holdfast server thread the
emulator delivers its webhooks to; Celery tasks run eagerly in the thread that enqueues them.
Exits 1 when the run fails (after printing the seed and the shortest action list that fails).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulation", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--population", type=int, default=None, help="users signed up before the first step")
    parser.add_argument("--no-faults", action="store_true", help="no processor faults")
    parser.add_argument("--ledger-every", type=int, default=1, help="full ledger check every N steps (1: every step)")
    parser.add_argument("--no-shrink", action="store_true", help="on failure, do not look for a shorter list")
    parser.add_argument("--shrink-seconds", type=float, default=900)
    parser.add_argument("--replay", help="a JSON file a failing run wrote: replay its actions")
    parser.add_argument("--failure-file", default=None, help="where a failing run writes its shortest list")
    return parser.parse_args()


def _bootstrap() -> object:
    """Embedded services, then Django: the emulator first, so the settings point at it."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("HOLDFAST_DATA_DIR", str(ROOT / ".data" / "test"))
    os.environ.setdefault("HOLDFAST_EMBEDDED_SERVICES", "true")
    from stripe_emulator.server import EmulatorServer

    emulator = EmulatorServer(port=0, state_path=None, retry_backoff=0.05).start()
    os.environ["STRIPE_EMULATOR_URL"] = emulator.url
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        from config import embedded

        if not os.environ.get("DATABASE_URL"):
            os.environ["DATABASE_URL"] = embedded.postgres_url(dbname="holdfast_simulation")
        if not os.environ.get("REDIS_URL"):
            os.environ["REDIS_URL"] = embedded.redis_url(name="simulation-redis")
    import logging

    import django

    django.setup()
    # Refusals are part of the run (counted in the report): their log lines would drown it.
    logging.getLogger().setLevel(logging.ERROR)
    for name in (
        "payments",
        "payouts",
        "disputes",
        "processors",
        "marketplace",
        "wallets",
        "django.request",
        "djstripe",
    ):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return emulator


def main() -> int:
    args = _arguments()
    emulator = _bootstrap()
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    from simulation.runner import simulate
    from simulation.world import World

    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    replay = None
    seed = args.seed
    if args.replay:
        saved = json.loads(Path(args.replay).read_text())
        replay, seed = saved["actions"], saved.get("seed", seed)
    steps = len(replay) if replay else args.steps
    population = args.population if args.population is not None else max(100, steps // 5)
    world = World(emulator=emulator, site_url=f"http://127.0.0.1:{server.port}", population=population)
    faults = "off" if args.no_faults else "on"
    print(f"simulation: seed {seed}, {steps} steps, {population} users to start with, faults {faults}")
    try:
        result = simulate(
            world,
            seed=seed,
            steps=steps,
            faults=not args.no_faults,
            ledger_every=args.ledger_every,
            shrink=not args.no_shrink,
            shrink_seconds=args.shrink_seconds,
            replay=replay,
            failure_path=args.failure_file or str(ROOT / f"simulation-failure-{seed}.json"),
            progress_every=1000,
        )
    finally:
        server.terminate()
        emulator.stop()
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
