"""Payout benchmark: 1,000 payouts executed by Celery workers against a Stripe emulator that
enforces Stripe's rate limit.

    .venv/bin/python bench/payout_bench.py                   # 1,000 payouts, limit 25/s (about 5 minutes)
    .venv/bin/python bench/payout_bench.py --payouts 200     # shorter
    .venv/bin/python bench/payout_bench.py --limit 25 --pace 24 --workers 4

Uses its own database, ``holdfast_bench_payouts``, on the embedded PostgreSQL (or ``DATABASE_URL``)
and its own embedded Redis (``bench-payouts-redis``, or ``REDIS_URL``), and a Stripe emulator in
this process that answers Stripe's 429 (``rate_limit``) to any request over ``--limit`` per second
(all requests, reads and writes). It prints figures; it asserts nothing.

1. Set-up (not timed): taskers, each onboarded at the emulator (Connect Express account, the
   emulator's onboarding completed, the account read back) with money in their wallet; a card
   payment into the platform's balance, settled.
2. Execution (timed): each tasker requests a payout (no approval needed; the jobs wait in the
   queue), then ``--workers`` Celery workers (solo pool, one process each) start and execute
   them: a Transfer and a bank Payout per payout, paced under ``STRIPE_MAX_WRITES_PER_SECOND =
   --pace`` through one schedule in Redis shared by the workers, a 429 retried with backoff and
   jitter. The achieved rate is the processor writes divided by the time from the first transfer
   to the last bank payout, as a share of the limit.
3. The emulator's clock moves on two days; Holdfast reads every bank payout back (the hourly
   refresh job) and settles it. Then: how many are paid, failed (and failed for a 429), whether
   any payout has more than one transfer at the emulator, and the ledger check.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("HOLDFAST_DATA_DIR", str(ROOT / ".data" / "test"))
os.environ.setdefault("HOLDFAST_EMBEDDED_SERVICES", "true")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
os.environ["HOLDFAST_PAYOUT_FIRST_NEEDS_APPROVAL"] = "false"
os.environ["STRIPE_MAX_WRITES_PER_SECOND"] = "0"  # this process's set-up writes; the workers get --pace
os.environ.setdefault("STRIPE_NAMESPACE", f"bench-{time.time_ns()}")
if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
    from config import embedded

    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded.postgres_url(dbname="holdfast_bench_payouts")
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = embedded.redis_url(name="bench-payouts-redis")

from stripe_emulator.server import EmulatorServer  # noqa: E402

EMULATOR = EmulatorServer(port=0, state_path=None).start()
os.environ["STRIPE_EMULATOR_URL"] = EMULATOR.url

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Count, Max, Min  # noqa: E402

from accounts.models import Profile, User  # noqa: E402
from payouts import services  # noqa: E402
from payouts.models import Payout  # noqa: E402
from processors.models import ProcessorTransaction  # noqa: E402
from processors.stripe import gateway  # noqa: E402
from wallets.models import JournalEntry, LedgerAccount  # noqa: E402
from wallets.selectors import ledger_invariant_violations  # noqa: E402
from wallets.services import ledger_post, platform_account, wallet_account_get_or_create  # noqa: E402

DAY = 86400
AMOUNT = Decimal("20.00")


def _setup(count: int) -> list[User]:
    import requests
    from moneyed import Money

    print(f"Set-up: {count} taskers onboarded at the emulator, {AMOUNT} USD each in their wallet", flush=True)
    started = time.monotonic()
    run = time.time_ns()
    users = User.objects.bulk_create(
        [User(email=f"bench-{run}-{i}@example.com", name=f"Tasker {i}", password="!") for i in range(count)]
    )
    Profile.objects.bulk_create([Profile(user=u, is_client=False, is_tasker=True) for u in users])
    processor = platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD")
    for user in users:
        account = services.payout_account_get_or_create(user=user)
        requests.post(f"{EMULATOR.url}/emulator/accounts/{account.reference}/complete_onboarding", timeout=30)
        services.payout_account_sync(reference=account.reference)
        ledger_post(
            idempotency_key=f"bench:{run}:{user.pk}",
            kind=JournalEntry.Kind.ADJUSTMENT,
            reference="bench",
            lines=[(processor, -AMOUNT), (wallet_account_get_or_create(user=user, currency="USD"), AMOUNT)],
            actor=None,
            memo="Benchmark earnings",
        )
    # The platform's balance at Stripe: one card payment covering every payout, then settled.
    total = AMOUNT * count * Decimal("1.1")
    gateway.payment_intent_create(
        amount=Money(total, "USD"),
        key=f"bench-funds-{run}",
        transfer_group="bench",
        metadata={},
        payment_method="pm_card_visa",
        confirm=True,
    )
    EMULATOR.advance_clock(3 * DAY)
    print(f"  done in {time.monotonic() - started:.0f} s", flush=True)
    return users


def _workers_start(n: int, pace: float, log_dir: Path) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "false",
        "STRIPE_MAX_WRITES_PER_SECOND": str(pace),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    procs = []
    for i in range(n):
        out = open(log_dir / f"payout-bench-worker-{i}.log", "w")  # noqa: SIM115 (closed with the process)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool",
                    "solo",
                    "--loglevel",
                    "WARNING",
                    "--hostname",
                    f"payout-bench-{i}-{os.getpid()}@%h",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        )
    return procs


def _workers_stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payouts", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=25, help="the emulator's requests per second")
    parser.add_argument("--pace", type=float, default=24, help="STRIPE_MAX_WRITES_PER_SECOND of the workers")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    from config.celery_app import app

    app.conf.task_always_eager = False  # the workers execute the payouts
    call_command("migrate", verbosity=0)
    users = _setup(args.payouts)

    log_dir = ROOT / ".data" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    EMULATOR.configure_rate_limit(per_second=args.limit, scope="all")
    print(
        f"\nExecution: {args.payouts} payouts, {args.workers} Celery workers, emulator limited to "
        f"{args.limit} requests/s, Holdfast pacing its writes at {args.pace}/s",
        flush=True,
    )
    started = time.monotonic()
    for user in users:  # queued for the workers, which start once all are requested
        services.payout_request(tasker=user, amount=AMOUNT, currency="USD")
    print(f"  {args.payouts} requests made and queued in {time.monotonic() - started:.1f} s (ledger only)", flush=True)
    procs = _workers_start(args.workers, args.pace, log_dir)
    try:
        started = time.monotonic()
        ours = Payout.objects.filter(tasker__in=users)
        deadline = time.monotonic() + args.timeout
        while ours.filter(status=Payout.Status.PROCESSING).exists():
            if time.monotonic() > deadline:
                print("  timed out waiting for the workers", flush=True)
                break
            time.sleep(1)
        executed_in = time.monotonic() - started
    finally:
        _workers_stop(procs)
    limiter = EMULATOR._rate_limiter.state()

    ours = Payout.objects.filter(tasker__in=users)
    ids = [str(pk) for pk in ours.values_list("pk", flat=True)]
    records = ProcessorTransaction.objects.filter(kind__in=["transfer", "bank_payout"], subject_id__in=ids)
    span = records.aggregate(first=Min("created_at"), last=Max("created_at"))
    writes = records.count()
    window = (span["last"] - span["first"]).total_seconds() if writes > 1 else float("nan")
    rate = (writes - 1) / window if writes > 1 else 0.0
    print(f"  all executed {executed_in:.1f} s after the workers were started (their start-up included)")
    print(f"  processor writes recorded: {writes} (transfers + bank payouts) in {window:.1f} s")
    print(f"  achieved write rate: {rate:.1f}/s = {rate / args.limit:.0%} of the {args.limit}/s limit (target >= 80%)")
    print(f"  emulator: {limiter['allowed']} requests let through, {limiter['refused']} answered 429 (retried)")

    print("\nSettling: the emulator clock moves two days on; Holdfast reads each bank payout back", flush=True)
    EMULATOR.advance_clock(3 * DAY)
    started = time.monotonic()
    services.payouts_refresh_in_transit(older_than=timedelta(0))
    print(f"  read back in {time.monotonic() - started:.1f} s (reads, under the same limit)")
    statuses = Counter(ours.values_list("status", flat=True))
    failed_for_429 = ours.filter(failure_code__icontains="rate").count()
    double = (
        ProcessorTransaction.objects.filter(kind="transfer", subject_id__in=ids)
        .values("subject_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    ).count()
    with EMULATOR.store.lock:
        transfers_at_stripe = Counter(t["metadata"].get("payout_id") for t in EMULATOR.store.coll("transfers").values())
    doubled_at_stripe = sum(1 for payout_id, n in transfers_at_stripe.items() if payout_id and n > 1)
    print(f"  statuses: {dict(statuses)}")
    paid, failed = statuses.get("paid", 0), statuses.get("failed", 0)
    print(f"  paid: {paid} of {args.payouts}; failed: {failed}; failed for 429: {failed_for_429}")
    print(f"  payouts with more than one transfer: {double} recorded, {doubled_at_stripe} at the emulator")
    print(f"  transfers at the emulator: {sum(n for p, n in transfers_at_stripe.items() if p)}")
    print(f"  ledger check: {len(ledger_invariant_violations())} violation(s)")
    print(f"  write pacing: STRIPE_MAX_WRITES_PER_SECOND={args.pace}, namespace {settings.STRIPE_NAMESPACE}")
    EMULATOR.stop()


if __name__ == "__main__":
    main()
