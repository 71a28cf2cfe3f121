"""Escrow benchmark: release throughput under concurrency, and the review-window sweeper on Celery.

    /work/main/.venv/bin/python bench/escrow_bench.py             # about three to five minutes
    /work/main/.venv/bin/python bench/escrow_bench.py --quick     # about a minute, noisier
    /work/main/.venv/bin/python bench/escrow_bench.py --seconds 10

Uses its own database, ``holdfast_bench_escrow``, on the embedded PostgreSQL (or ``DATABASE_URL``
if set to a database that may be written to) and its own embedded Redis (``bench-redis``, or
``REDIS_URL``). It prints figures; it asserts nothing.

1. Throughput of ``payments.escrow.escrow_release`` (lock the escrow, check it, one ledger
   entry of three postings: escrow -held, tasker wallet +net, platform fee revenue +fees; the
   escrow update and its event; the task to completed and its event) at 1, 2 and 8 concurrent
   workers, each a process with its own connection releasing its own escrows, over a fixed
   window; next to the same work written by hand as psycopg statements in the same run.
   Both paths go through the same triggers and constraints, and both have PostgreSQL prepare
   statements they repeat (psycopg's default; Holdfast's ``DATABASE_PREPARED_STATEMENTS``,
   on unless set to false).
2. The sweeper: ``payments.tasks.escrows_release_due`` enqueued twice on two real Celery
   workers (solo pool, one process each) that share the work through SKIP LOCKED; the time
   until every due escrow is released, then checks that none was released twice and that the
   ledger's invariants hold.

Funded escrows are made without Stripe: users, tasks, accepted offers, escrows, their ledger
accounts and balanced ``escrow_funding`` entries (processor balance -total, escrow +total, key
``escrow:<id>:funding``) are inserted in INSERT ... SELECT statements, 1,000 escrows per
transaction, with every constraint and ledger trigger in force.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("HOLDFAST_DATA_DIR", str(ROOT / ".data" / "test"))
os.environ.setdefault("HOLDFAST_EMBEDDED_SERVICES", "true")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
    from config import embedded

    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded.postgres_url(dbname="holdfast_bench_escrow")
    if not os.environ.get("REDIS_URL"):
        # Before django.setup(): the settings' cache and Celery broker then use the same Redis
        # the workers are given, and embedded.redis_url() keeps only one server per process.
        os.environ["REDIS_URL"] = embedded.redis_url(name="bench-redis")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from payments import escrow as payments  # noqa: E402
from payments.fees import fee_breakdown  # noqa: E402
from payments.models import Escrow  # noqa: E402
from payments.services import fee_policy_active  # noqa: E402
from wallets import selectors  # noqa: E402
from wallets import services as ledger  # noqa: E402
from wallets.models import LedgerAccount  # noqa: E402

WORKER_COUNTS = [1, 2, 8]
TARGET_AT_8 = 0.40
REASON = "Review window ended with no objection"
PRICES = [Decimal(p) for p in ("25.00", "60.00", "99.90", "150.00", "480.00")]
BATCH = 1_000
RUN = str(time.time_ns())


def _dsn() -> str:
    return os.environ["DATABASE_URL"]


# --- Funded escrows -----------------------------------------------------------------------------


class Fixture:
    """Ids every path needs and would otherwise look up on each release."""

    def __init__(self) -> None:
        policy = fee_policy_active(currency="USD")
        self.policy_id = policy.pk
        self.escrow_type = ContentType.objects.get_for_model(Escrow).pk
        self.processor = ledger.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD").pk
        self.fees = ledger.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD").pk
        self.prices = [fee_breakdown(amount=p, currency="USD", rules=policy.rules) for p in PRICES]


# One transaction per batch. Ids are drawn from the tables' own sequences first, so the circular
# task <-> accepted offer reference and the ledger rows can all be written by INSERT ... SELECT;
# Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, so they are checked at COMMIT.
CREATE_SQL = [
    """
    CREATE TEMP TABLE bench_new ON COMMIT DROP AS
    SELECT g AS n,
           nextval(pg_get_serial_sequence('accounts_user', 'id')) AS client_id,
           nextval(pg_get_serial_sequence('accounts_user', 'id')) AS tasker_id,
           nextval(pg_get_serial_sequence('marketplace_task', 'id')) AS task_id,
           nextval(pg_get_serial_sequence('marketplace_offer', 'id')) AS offer_id,
           nextval(pg_get_serial_sequence('payments_escrow', 'id')) AS escrow_id,
           nextval(pg_get_serial_sequence('wallets_ledgeraccount', 'id')) AS account_id,
           nextval(pg_get_serial_sequence('wallets_ledgeraccount', 'id')) AS wallet_id,
           nextval(pg_get_serial_sequence('wallets_journalentry', 'id')) AS entry_id,
           p.amount, p.client_fee, p.commission, p.tasker_net, p.client_total
      FROM generate_series(1, %(count)s) g
      JOIN unnest(%(amount)s::numeric[], %(client_fee)s::numeric[], %(commission)s::numeric[],
                  %(tasker_net)s::numeric[], %(client_total)s::numeric[])
           WITH ORDINALITY AS p(amount, client_fee, commission, tasker_net, client_total, k)
        ON p.k = 1 + g %% %(prices)s
    """,
    """
    INSERT INTO accounts_user (id, password, is_superuser, is_staff, is_active, date_joined, email, name)
    SELECT id, '!', false, false, true, now(), 'bench-' || id || '@example.com', 'Bench ' || role
      FROM bench_new, LATERAL (VALUES (client_id, 'client'), (tasker_id, 'tasker')) u(id, role)
    """,
    """
    INSERT INTO marketplace_task (id, title, description, category, budget_currency, budget, status,
                                  created_at, updated_at, assigned_at, started_at, delivered_at,
                                  accepted_offer_id, client_id)
    SELECT task_id, 'Assemble bookshelf #' || n, 'Two flat-pack bookshelves, tools on site.', 'assembly',
           'USD', amount, %(task_status)s::varchar, now(), now(), now(), now(),
           CASE WHEN %(task_status)s::varchar = 'delivered' THEN now() END, offer_id, client_id
      FROM bench_new
    """,
    """
    INSERT INTO marketplace_offer (id, amount_currency, amount, message, status, created_at, updated_at,
                                   accepted_at, tasker_id, task_id)
    SELECT offer_id, 'USD', amount, 'I can do it this weekend.', 'accepted', now(), now(), now(),
           tasker_id, task_id
      FROM bench_new
    """,
    """
    INSERT INTO payments_escrow (id, status, currency, amount, client_fee, commission, tasker_net, client_total,
                                 refunded_amount, released_to_tasker, review_window, release_due_at,
                                 payment_attempts, created_at, updated_at, funded_at,
                                 client_id, offer_id, task_id, tasker_id, fee_policy_id)
    SELECT escrow_id, 'funded', 'USD', amount, client_fee, commission, tasker_net, client_total, 0, 0,
           %(review_window)s, %(due)s::timestamptz + n * interval '1 millisecond',
           1, now(), now(), now(),
           client_id, offer_id, task_id, tasker_id, %(policy)s
      FROM bench_new
    """,
    """
    INSERT INTO payments_escrowevent (escrow_id, kind, actor_id, from_status, to_status, amount, reason,
                                      created_at)
    SELECT escrow_id, 'funded', NULL, 'awaiting_payment', 'funded', client_total, '', now() FROM bench_new
    """,
    # Taskers who have been paid before: their wallet exists, as it does in steady state.
    """
    INSERT INTO wallets_ledgeraccount (id, kind, currency, owner_id, balance, created_at, client_id,
                                       owner_type_id, tasker_id, user_id)
    SELECT account_id, 'escrow', 'USD', escrow_id::text, 0, now(), client_id, %(escrow_type)s, tasker_id, NULL
      FROM bench_new
    UNION ALL
    SELECT wallet_id, 'user_wallet', 'USD', NULL, 0, now(), NULL, NULL, NULL, tasker_id FROM bench_new
    """,
    """
    INSERT INTO wallets_journalentry (id, idempotency_key, kind, reference, reference_type_id, reference_id,
                                      memo, actor_id)
    SELECT entry_id, 'escrow:' || escrow_id || ':funding', 'escrow_funding', 'payments.escrow:' || escrow_id,
           %(escrow_type)s, escrow_id::text, 'Card payment pi_bench_' || escrow_id, NULL
      FROM bench_new
    """,
    # The posting trigger credits each escrow account; the deferred trigger checks every entry at COMMIT.
    """
    INSERT INTO wallets_posting (entry_id, account_id, currency, amount)
    SELECT entry_id, account_id, 'USD', amount FROM (
        SELECT entry_id, %(processor)s::bigint AS account_id, -client_total AS amount, n, 0 AS k FROM bench_new
        UNION ALL
        SELECT entry_id, account_id, client_total, n, 1 FROM bench_new
    ) lines ORDER BY n, k
    """,
]


def escrows_create(fx: Fixture, count: int, *, due: bool) -> list[int]:
    """``count`` funded escrows, each with its own client and tasker; due ones have delivered tasks."""
    params = {
        "prices": len(fx.prices),
        **{f: [getattr(b, f) for b in fx.prices] for f in ("amount", "client_fee", "commission", "tasker_net")},
        "client_total": [b.client_total for b in fx.prices],
        "task_status": "delivered" if due else "in_progress",
        "review_window": settings.ESCROW_REVIEW_WINDOW,
        "policy": fx.policy_id,
        "escrow_type": fx.escrow_type,
        "processor": fx.processor,
    }
    ids: list[int] = []
    with psycopg.connect(_dsn(), autocommit=True) as conn:  # so that each transaction() block commits
        params["due"] = conn.execute("SELECT now() - interval '1 hour'").fetchone()[0] if due else None
        for start in range(0, count, BATCH):
            params["count"] = min(BATCH, count - start)
            with conn.transaction():
                for sql in CREATE_SQL:
                    conn.execute(sql, params)
                ids += [r[0] for r in conn.execute("SELECT escrow_id FROM bench_new ORDER BY n")]
    return ids


def _analyze() -> None:
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        for table in (
            "payments_escrow",
            "marketplace_task",
            "wallets_ledgeraccount",
            "wallets_posting",
            "wallets_journalentry",
            "accounts_user",
            "payments_escrowevent",
            "marketplace_taskevent",
        ):
            conn.execute(f"VACUUM ANALYZE {table}")


# --- Release throughput -------------------------------------------------------------------------


def _service_worker(ids: list[int], seconds: float, barrier, results) -> None:
    connection.close()  # never share the parent's connection

    def release(escrow_id: int) -> None:
        # The service reads only the pk and re-reads the row under its lock.
        payments.escrow_release(escrow=Escrow(pk=escrow_id), actor=None, reason=REASON)

    _loop(release, ids, seconds, barrier, results)
    connection.close()


ESCROW_LOCK = (
    "SELECT status, task_id, tasker_id, client_total, refunded_amount, tasker_net, client_fee, commission "
    "FROM payments_escrow WHERE id = %s FOR UPDATE"
)
REFUND_PENDING = "SELECT 1 FROM payments_escrowrefund WHERE escrow_id = %s AND status = 'pending' LIMIT 1"
# Finds and locks the escrow's account and the tasker's wallet in one statement, in id order.
ACCOUNTS_LOCK = (
    "SELECT id, kind, balance FROM wallets_ledgeraccount "
    "WHERE (kind = 'escrow' AND currency = 'USD' AND user_id IS NULL AND owner_type_id = %s AND owner_id = %s) "
    "OR (kind = 'user_wallet' AND currency = 'USD' AND user_id = %s AND owner_type_id IS NULL AND owner_id IS NULL) "
    "ORDER BY id FOR NO KEY UPDATE"
)
ENTRY_INSERT = (
    "INSERT INTO wallets_journalentry (idempotency_key, kind, reference, reference_type_id, reference_id, memo, "
    "actor_id) VALUES (%s, 'escrow_release', %s, %s, %s, %s, NULL) "
    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)
POSTINGS_INSERT = (
    "INSERT INTO wallets_posting (entry_id, account_id, currency, amount) "
    "VALUES (%s, %s, 'USD', %s), (%s, %s, 'USD', %s), (%s, %s, 'USD', %s)"
)
ESCROW_UPDATE = (
    "UPDATE payments_escrow SET status = 'released', released_at = now(), released_to_tasker = %s, "
    "release_due_at = NULL, updated_at = now() WHERE id = %s"
)
ESCROW_EVENT = (
    "INSERT INTO payments_escrowevent (escrow_id, kind, actor_id, from_status, to_status, amount, reason, "
    "created_at) VALUES (%s, 'released', NULL, %s, 'released', %s, %s, now())"
)
TASK_LOCK = "SELECT status FROM marketplace_task WHERE id = %s FOR UPDATE"
TASK_UPDATE = "UPDATE marketplace_task SET status = 'completed', completed_at = now(), updated_at = now() WHERE id = %s"
TASK_EVENT = (
    "INSERT INTO marketplace_taskevent (task_id, offer_id, actor_id, from_status, to_status, reason, created_at) "
    "VALUES (%s, NULL, NULL, %s, 'completed', 'Payment released to the tasker', now())"
)
RAW_STATEMENTS = 12  # BEGIN, the ten statements above, COMMIT: one round trip each


def _raw_worker(ids: list[int], seconds: float, barrier, results, fx: Fixture) -> None:
    with psycopg.connect(_dsn()) as conn:

        def release(escrow_id: int) -> None:
            with conn.cursor() as cur:
                cur.execute(ESCROW_LOCK, [escrow_id])
                status, task_id, tasker_id, total, refunded, net, client_fee, commission = cur.fetchone()
                if status != "funded" or refunded:
                    raise RuntimeError(f"bench escrow {escrow_id} is {status}")
                cur.execute(REFUND_PENDING, [escrow_id])
                if cur.fetchone():
                    raise RuntimeError(f"bench escrow {escrow_id} has a pending refund")
                cur.execute(ACCOUNTS_LOCK, [fx.escrow_type, str(escrow_id), tasker_id])
                accounts = {kind: (pk, balance) for pk, kind, balance in cur.fetchall()}
                (account, held_balance), (wallet, _) = accounts["escrow"], accounts["user_wallet"]
                if held_balance < total:
                    raise RuntimeError(f"bench escrow {escrow_id} holds {held_balance}, not {total}")
                reference = f"payments.escrow:{escrow_id}"
                cur.execute(
                    ENTRY_INSERT, [f"escrow:{escrow_id}:release", reference, fx.escrow_type, str(escrow_id), REASON]
                )
                entry = cur.fetchone()[0]
                cur.execute(
                    POSTINGS_INSERT,
                    [entry, account, -total, entry, wallet, net, entry, fx.fees, client_fee + commission],
                )
                cur.execute(ESCROW_UPDATE, [net, escrow_id])
                cur.execute(ESCROW_EVENT, [escrow_id, status, net, REASON])
                cur.execute(TASK_LOCK, [task_id])
                (task_status,) = cur.fetchone()
                cur.execute(TASK_UPDATE, [task_id])
                cur.execute(TASK_EVENT, [task_id, task_status])
            conn.commit()

        _loop(release, ids, seconds, barrier, results)


def _loop(release, ids: list[int], seconds: float, barrier, results) -> None:
    release(ids[0])  # warm up: connection, caches, prepared statements
    barrier.wait()
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    for escrow_id in ids[1:]:
        if time.perf_counter() >= deadline:
            break
        release(escrow_id)
        done += 1
    else:  # ran out of escrows before the window closed
        results.put((done, time.perf_counter() - started, True))
        return
    results.put((done, time.perf_counter() - started, False))


def _throughput(target, workers: int, ids: list[int], seconds: float, *extra) -> tuple[int, float, bool]:
    """(releases, seconds they took, whether a worker ran out of escrows)."""
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    connection.close()
    share = len(ids) // workers
    procs = [
        ctx.Process(target=target, args=(ids[w * share : (w + 1) * share], seconds, barrier, results, *extra))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    return sum(o[0] for o in outcomes), max(o[1] for o in outcomes), any(o[2] for o in outcomes)


def _pool_size(rate_one_worker: float, workers: int, seconds: float) -> int:
    # Enough escrows that no worker runs dry: scaling stops at the core count, with headroom.
    expected = rate_one_worker * min(workers, os.cpu_count() or 1) * seconds
    return int(math.ceil(expected * 2.5)) + workers * 20


def bench_throughput(fx: Fixture, seconds: float) -> None:
    print(
        f"\nRelease throughput: escrow_release vs the same work as raw psycopg, {seconds:g} s per path and "
        "worker count (two halves, interleaved)"
    )
    from config.celery_app import app

    # As in production, a release's on-commit subscribers (notifications) only enqueue their Celery
    # work; the test settings this process runs would do that work inline, in the measured path.
    app.conf.task_always_eager = False
    started = time.perf_counter()
    # Size the pools from a short single-worker run of each path.
    probe = escrows_create(fx, 600, due=False)
    with CaptureQueriesContext(connection) as queries:
        payments.escrow_release(escrow=Escrow(pk=probe[0]), actor=None, reason=REASON)
    connection.close()
    raw_done, raw_took, _ = _throughput(_raw_worker, 1, probe[1:300], 0.5, fx)
    service_done, service_took, _ = _throughput(_service_worker, 1, probe[300:], 0.5)
    raw_one, service_one = raw_done / raw_took, service_done / service_took
    pools = {}
    for workers in WORKER_COUNTS:
        pools[workers] = (
            escrows_create(fx, _pool_size(raw_one, workers, seconds), due=False),
            escrows_create(fx, _pool_size(service_one, workers, seconds), due=False),
        )
    _analyze()
    made = 600 + sum(len(r) + len(s) for r, s in pools.values())
    print(f"  made {made:,} funded escrows in {time.perf_counter() - started:.1f} s")
    print(f"  round trips per release, BEGIN and COMMIT included: service {len(queries)}, raw {RAW_STATEMENTS}")
    print(f"{'workers':>8} {'service/s':>10} {'raw/s':>10} {'service/raw':>12}")
    rates = {}
    for workers in WORKER_COUNTS:
        raw_ids, service_ids = pools[workers]
        half_raw, half_service = len(raw_ids) // 2, len(service_ids) // 2
        # Two half windows per path in the order raw, service, service, raw, so that a drift in
        # the machine's background load falls on both paths alike.
        runs = [
            ("raw", _raw_worker, raw_ids[:half_raw], (fx,)),
            ("service", _service_worker, service_ids[:half_service], ()),
            ("service", _service_worker, service_ids[half_service:], ()),
            ("raw", _raw_worker, raw_ids[half_raw:], (fx,)),
        ]
        totals = {"raw": [0, 0.0], "service": [0, 0.0]}
        dry = False
        for path, target, ids, extra in runs:
            done, took, ran_out = _throughput(target, workers, ids, seconds / 2, *extra)
            totals[path][0] += done
            totals[path][1] += took
            dry = dry or ran_out
        raw, service = (totals[p][0] / totals[p][1] for p in ("raw", "service"))
        rates[workers] = (service, raw)
        note = "  (a worker ran out of escrows: rate over its shorter run)" if dry else ""
        print(f"{workers:>8} {service:>10.0f} {raw:>10.0f} {service / raw:>11.0%}{note}")
    s8, r8 = rates[8]
    print(f"service at 8 workers = {s8 / r8:.0%} of raw SQL (target >= {TARGET_AT_8:.0%})")
    s1, r1 = rates[1]
    print(f"8 workers vs 1: service x{s8 / s1:.2f}, raw x{r8 / r1:.2f} ({os.cpu_count()} CPU cores)")


# --- Sweeper on two Celery workers --------------------------------------------------------------

SUCCEEDED = re.compile(r"escrows_release_due\[[^\]]+\] succeeded in ([0-9.]+)s: (\d+)")


def _celery_worker_start(n: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        {
            # Not the test settings: those run tasks eagerly in the caller.
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "HOLDFAST_EMBEDDED_SERVICES": "true",
            "DJANGO_DEBUG": "false",  # DEBUG keeps every query in memory, which production does not
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "REDIS_URL": os.environ["REDIS_URL"],
        }
    )
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--concurrency", "1",
        "--loglevel", "INFO", "--hostname", f"bench-sweeper-{n}-{RUN}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    with open(log, "w") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _celery_workers_stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)  # warm shutdown: finish the current task, ack, exit
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def bench_sweeper(fx: Fixture, count: int, timeout: float) -> None:
    from config.celery_app import app

    app.conf.task_always_eager = False  # this process runs the test settings; the workers must get the task

    print(f"\nSweeper: payments.tasks.escrows_release_due on two Celery workers (solo pool), {count:,} due escrows")
    with psycopg.connect(_dsn()) as conn:
        stale = conn.execute(
            "SELECT count(*) FROM payments_escrow WHERE status = 'funded' AND release_due_at <= now()"
        ).fetchone()[0]
    if stale:
        print(f"  note: {stale:,} due escrows left by an earlier, interrupted run will be released too")
    started = time.perf_counter()
    ids = escrows_create(fx, count, due=True)
    _analyze()
    print(f"  made {len(ids):,} due escrows in {time.perf_counter() - started:.1f} s")

    logs = [Path(os.environ["HOLDFAST_DATA_DIR"]) / f"bench-sweeper-{n}.log" for n in (1, 2)]
    workers = [_celery_worker_start(n, log) for n, log in zip((1, 2), logs, strict=True)]
    try:
        ready_by = time.perf_counter() + 60
        while len(app.control.ping(timeout=0.5) or []) < 2:
            if time.perf_counter() > ready_by or any(p.poll() is not None for p in workers):
                print("  the Celery workers did not come up; see " + ", ".join(map(str, logs)))
                return
        app.control.purge()  # a sweep left queued by an interrupted run would skew the split
        connection.close()
        with psycopg.connect(_dsn(), autocommit=True) as conn:
            t0 = time.perf_counter()
            for _ in workers:
                app.send_task("payments.tasks.escrows_release_due")
            released = 0
            while time.perf_counter() - t0 < timeout:
                released = conn.execute(
                    "SELECT count(*) FROM payments_escrow WHERE id = ANY(%s) AND status = 'released'", [ids]
                ).fetchone()[0]
                if released == count:
                    break
                time.sleep(0.1)
            elapsed = time.perf_counter() - t0
        finished = released == count
        print(
            f"  {released:,} of {count:,} released in {elapsed:.1f} s"
            f"{'' if finished else f' (gave up after the {timeout:g} s timeout)'}: {released / elapsed:.0f} escrows/s"
        )
        done_by = time.perf_counter() + 30
        reports: list[list[tuple[str, str]]] = [[], []]
        while time.perf_counter() < done_by:
            reports = [SUCCEEDED.findall(log.read_text()) for log in logs]
            if all(reports) or not finished:
                break
            time.sleep(0.2)
        for n, report in zip((1, 2), reports, strict=True):
            if report:
                task_seconds, task_released = report[-1]
                print(f"  worker {n}: released {int(task_released):,} in its task of {float(task_seconds):.1f} s")
            else:
                print(f"  worker {n}: no finished task in its log ({logs[n - 1]})")
    finally:
        _celery_workers_stop(workers)

    with psycopg.connect(_dsn()) as conn:
        entries = conn.execute(
            "SELECT count(*), count(DISTINCT reference_id) FROM wallets_journalentry "
            "WHERE kind = 'escrow_release' AND reference_type_id = %s AND reference_id = ANY(%s)",
            [fx.escrow_type, [str(i) for i in ids]],
        ).fetchone()
        events = conn.execute(
            "SELECT count(*), count(DISTINCT escrow_id) FROM payments_escrowevent "
            "WHERE kind = 'released' AND escrow_id = ANY(%s)",
            [ids],
        ).fetchone()
        completed = conn.execute(
            "SELECT count(*) FROM marketplace_taskevent e JOIN payments_escrow x ON x.task_id = e.task_id "
            "WHERE x.id = ANY(%s) AND e.to_status = 'completed'",
            [ids],
        ).fetchone()[0]
    twice = entries[0] - entries[1] + events[0] - events[1]
    entries_ok = "ok" if entries[0] == count else "MISMATCH"
    print(f"  escrow_release journal entries: {entries[0]:,} (expected {count:,}: {entries_ok})")
    print(
        f"  released events: {events[0]:,}, task completions: {completed:,}; "
        f"escrows released twice: {twice} ({'ok' if twice == 0 else 'DOUBLE RELEASE'})"
    )
    started = time.perf_counter()
    violations = selectors.ledger_invariant_violations()
    took = time.perf_counter() - started
    if violations:
        print(f"  ledger invariants: {len(violations)} violation(s) ({took:.1f} s to check)")
        for v in violations[:10]:
            print(f"    {v.check}: {v.message}")
    else:
        print(f"  ledger invariants: no violations ({took:.1f} s to check the whole ledger)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 s windows and 1,000 escrows for the sweeper")
    parser.add_argument("--seconds", type=float, help="duration of each throughput measurement (default 5, quick 3)")
    parser.add_argument("--escrows", type=int, help="due escrows for the sweeper (default 10,000, quick 1,000)")
    parser.add_argument("--timeout", type=float, default=600.0, help="longest wait for the sweeper, in seconds")
    args = parser.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 5.0)
    escrows = args.escrows or (1_000 if args.quick else 10_000)

    call_command("migrate", verbosity=0)
    print(f"PostgreSQL {connection.cursor().connection.info.server_version}, {os.cpu_count()} CPU cores")
    fx = Fixture()
    bench_throughput(fx, seconds)
    bench_sweeper(fx, escrows, args.timeout)


if __name__ == "__main__":
    main()
