"""Ledger benchmark: posting throughput under concurrency and balance-read latency.

    /work/main/.venv/bin/python bench/ledger_bench.py            # about two minutes
    /work/main/.venv/bin/python bench/ledger_bench.py --seconds 2 # quicker, noisier

Uses its own database, ``holdfast_bench``, on the embedded PostgreSQL (or ``DATABASE_URL`` if set
to a database that may be written to). It prints figures; it asserts nothing.

1. Throughput of ``ledger_post`` with an escrow-release-shaped entry (escrow -10.00, tasker
   wallet +8.00, platform fee revenue +2.00) at 1, 2, 8 and 32 concurrent workers, each a
   process with its own connection, its own escrow and tasker; next to the same SQL statements
   the service issues (lock the two balance rows in id order, insert the entry ON CONFLICT DO
   NOTHING, insert the three postings, commit) sent directly with psycopg in the same run.
   Both paths go through the same triggers and constraints.
2. Balance read latency (``selectors.account_balance``) for a wallet with 1,000 postings and
   one with 1,000,000. The big history is bulk-loaded once with one INSERT ... SELECT
   generate_series while ``session_replication_role = replica`` switches off the ledger's
   triggers *for that loading session only* (one transaction updating one balance row a
   million times is not a realistic load); the loaded rows are then verified against the
   same rules (entries balanced, cached balance = sum of postings, running balances).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
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
if not os.environ.get("DATABASE_URL"):
    from config import embedded

    os.environ["DATABASE_URL"] = embedded.postgres_url(dbname="holdfast_bench")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import User  # noqa: E402
from wallets import selectors, services  # noqa: E402
from wallets.models import JournalEntry, LedgerAccount  # noqa: E402

WORKER_COUNTS = [1, 2, 8, 32]
RELEASE = (Decimal("-10.00"), Decimal("8.00"), Decimal("2.00"))
RUN = str(time.time_ns())


def _dsn() -> str:
    return os.environ["DATABASE_URL"]


def _user(email: str) -> User:
    user = User.objects.filter(email=email).first()
    return user or User.objects.create_user(email=email, password=None)


def _prepare_workers(count: int) -> list[tuple[int, int, int]]:
    """Per worker: (escrow account id, tasker wallet id, fee revenue id), each escrow topped up."""
    fees = services.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD")
    processor = services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD")
    ids = []
    for w in range(count):
        tasker = _user(f"bench-tasker-{w}@example.com")
        client = _user(f"bench-client-{w}@example.com")
        escrow_owner = _user(f"bench-escrow-{w}@example.com")  # stands in for an Escrow row
        escrow = services.escrow_account_get_or_create(
            escrow=escrow_owner, currency="USD", client=client, tasker=tasker
        )
        wallet = services.wallet_account_get_or_create(user=tasker, currency="USD")
        top_up = Decimal("10000000.00")
        services.ledger_post(
            idempotency_key=f"bench-{RUN}-topup-{w}",
            kind=JournalEntry.Kind.ESCROW_FUNDING,
            reference="bench",
            lines=[(processor, -top_up), (escrow, top_up)],
            actor=None,
        )
        ids.append((escrow.pk, wallet.pk, fees.pk))
    return ids


def _service_worker(worker: int, accounts: tuple[int, int, int], seconds: float, barrier, results) -> None:
    connection.close()  # never share the parent's connection
    escrow, wallet, fees = (LedgerAccount.objects.get(pk=pk) for pk in accounts)
    lines = list(zip((escrow, wallet, fees), RELEASE, strict=True))
    prefix = f"bench-{time.time_ns()}-svc-{worker}-"
    n = 0

    def post():
        services.ledger_post(
            idempotency_key=f"{prefix}{n}", kind="escrow_release", reference="bench", lines=lines, actor=None
        )

    post()  # warm up: connection, caches
    n += 1
    barrier.wait()
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        post()
        n += 1
        done += 1
    connection.close()
    results.put(done)


LOCK_SQL = "SELECT id, balance FROM wallets_ledgeraccount WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE"
ENTRY_SQL = (
    "INSERT INTO wallets_journalentry (idempotency_key, kind, reference, reference_type_id, reference_id, memo, "
    "actor_id) VALUES (%s, 'escrow_release', 'bench', NULL, NULL, '', NULL) "
    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, created_at, transaction_id"
)
POSTINGS_SQL = (
    "INSERT INTO wallets_posting (entry_id, account_id, currency, amount) "
    "VALUES (%s, %s, 'USD', %s), (%s, %s, 'USD', %s), (%s, %s, 'USD', %s)"
)


def _raw_worker(worker: int, accounts: tuple[int, int, int], seconds: float, barrier, results) -> None:
    escrow, wallet, fees = accounts
    prefix = f"bench-{time.time_ns()}-raw-{worker}-"
    with psycopg.connect(_dsn()) as conn:
        n = 0

        def post():
            with conn.cursor() as cur:
                cur.execute(LOCK_SQL, [sorted((escrow, wallet))])
                balances = dict(cur.fetchall())
                if balances[escrow] + RELEASE[0] < 0:
                    raise RuntimeError("bench escrow ran dry")
                cur.execute(ENTRY_SQL, [f"{prefix}{n}"])
                entry_id = cur.fetchone()[0]
                cur.execute(
                    POSTINGS_SQL,
                    [entry_id, escrow, RELEASE[0], entry_id, wallet, RELEASE[1], entry_id, fees, RELEASE[2]],
                )
            conn.commit()

        post()
        n += 1
        barrier.wait()
        done = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            post()
            n += 1
            done += 1
    results.put(done)


class _StartLine:
    """Workers say they are ready (connected and warmed up); all start on one signal."""

    def __init__(self, ctx):
        self.ready, self.go = ctx.Queue(), ctx.Event()

    def wait(self):
        self.ready.put(1)
        self.go.wait()


def _throughput(target, workers: int, accounts, seconds: float) -> float:
    ctx = mp.get_context("fork")
    start, results = _StartLine(ctx), ctx.Queue()
    connection.close()  # children must not inherit an open connection
    procs = [ctx.Process(target=target, args=(w, accounts[w], seconds, start, results)) for w in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:
        start.ready.get(timeout=60)  # a worker that crashed shows its traceback above
    start.go.set()
    total = sum(results.get(timeout=seconds + 120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    return total / seconds


def bench_throughput(seconds: float) -> None:
    accounts = _prepare_workers(max(WORKER_COUNTS))
    _throughput(_service_worker, 2, accounts, 0.5)  # warm the server up before measuring
    print(f"\nPosting throughput: escrow release, 3 postings per entry, {seconds:g} s per measurement")
    print(f"{'workers':>8} {'ledger_post/s':>14} {'raw psycopg/s':>14} {'service/raw':>12}")
    rates = {}
    for workers in WORKER_COUNTS:
        raw = _throughput(_raw_worker, workers, accounts, seconds)
        service = _throughput(_service_worker, workers, accounts, seconds)
        rates[workers] = (service, raw)
        print(f"{workers:>8} {service:>14.0f} {raw:>14.0f} {service / raw:>11.0%}")
    s8, r8 = rates[8]
    s32, r32 = rates[32]
    print(f"service at 8 workers = {s8 / r8:.0%} of raw SQL (target >= 40%)")
    print(f"32 workers keep {s32 / s8:.0%} of the 8-worker rate (service; target >= 85%), raw: {r32 / r8:.0%}")


# --- Balance reads ------------------------------------------------------------------------------

BULK_SQL = """
WITH e AS (
    INSERT INTO wallets_journalentry (idempotency_key, kind, reference, memo, created_at, transaction_id)
    SELECT %(prefix)s || g, 'adjustment', 'bench:bulk', '', now(), txid_current()
      FROM generate_series(1, %(entries)s) g
    RETURNING id
), r AS (
    SELECT id, row_number() OVER (ORDER BY id) AS rn FROM e
), w AS (
    SELECT r.id AS entry_id, (r.rn - 1) * 10 + k AS n FROM r CROSS JOIN generate_series(1, 10) k
)
INSERT INTO wallets_posting (entry_id, account_id, currency, amount, balance_after, created_at)
SELECT entry_id, account_id, 'USD', amount, balance_after, now() FROM (
    SELECT entry_id, %(wallet)s AS account_id, 0.01 AS amount, 0.01 * n AS balance_after, n AS ord FROM w
    UNION ALL
    SELECT id, %(processor)s, -0.10, NULL, rn * 10 + 0.5 FROM r
) lines ORDER BY ord
"""

VERIFY_SQL = """
SELECT a.balance, (SELECT sum(amount) FROM wallets_posting WHERE account_id = a.id),
       (SELECT count(*) FROM wallets_posting WHERE account_id = a.id),
       (SELECT count(*) FROM (
            SELECT balance_after, sum(amount) OVER (ORDER BY id) AS running
              FROM wallets_posting WHERE account_id = a.id) x WHERE balance_after <> running),
       (SELECT count(*) FROM (
            SELECT p.entry_id FROM wallets_posting p
             WHERE p.entry_id IN (SELECT entry_id FROM wallets_posting WHERE account_id = a.id)
             GROUP BY p.entry_id HAVING sum(p.amount) <> 0) u)
  FROM wallets_ledgeraccount a WHERE a.id = %s
"""


def _wallet_with_history(postings: int) -> LedgerAccount:
    user = _user(f"bench-history-{postings}@example.com")
    wallet = services.wallet_account_get_or_create(user=user, currency="USD")
    existing = wallet.postings.count()
    if existing == postings:
        return wallet
    if existing:
        raise SystemExit(f"{wallet} already has {existing} postings; drop the holdfast_bench database and rerun.")
    processor = services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD")
    started = time.perf_counter()
    with psycopg.connect(_dsn()) as conn:
        conn.execute("SET session_replication_role = replica")  # this session only: triggers off while loading
        conn.execute(
            BULK_SQL,
            {
                "prefix": f"bench-history-{wallet.pk}-",
                "entries": postings // 10,
                "wallet": wallet.pk,
                "processor": processor.pk,
            },
        )
        conn.execute(
            "UPDATE wallets_ledgeraccount SET balance = (SELECT sum(amount) FROM wallets_posting WHERE account_id = %s)"
            " WHERE id = %s",
            [wallet.pk, wallet.pk],
        )
        conn.commit()
        conn.execute("RESET session_replication_role")
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE wallets_posting")
        conn.execute("VACUUM ANALYZE wallets_ledgeraccount")
        balance, total, count, bad_running, unbalanced = conn.execute(VERIFY_SQL, [wallet.pk]).fetchone()
    assert balance == total and count == postings and bad_running == 0 and unbalanced == 0, "bulk load is not sound"
    print(
        f"  built a wallet with {count:,} postings in {time.perf_counter() - started:.1f} s "
        f"(balance {balance} = sum of postings; running balances and entries verified)"
    )
    return wallet


def _read_latencies(account: LedgerAccount, reads: int) -> list[float]:
    samples = []
    for _ in range(reads):
        t0 = time.perf_counter_ns()
        selectors.account_balance(account=account)
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return samples


def bench_balance_reads(reads: int) -> None:
    print("\nBalance read latency (selectors.account_balance, one Django query per read)")
    small = _wallet_with_history(1_000)
    large = _wallet_with_history(1_000_000)
    _read_latencies(small, 200)
    _read_latencies(large, 200)  # warm up
    small_samples, large_samples = [], []
    for _ in range(5):  # interleave to share any background noise
        small_samples += _read_latencies(small, reads // 5)
        large_samples += _read_latencies(large, reads // 5)

    def describe(samples):
        q = statistics.quantiles(samples, n=100)
        return statistics.median(samples), q[94]

    (m_small, p95_small), (m_large, p95_large) = describe(small_samples), describe(large_samples)
    print(f"{'postings':>10} {'median us':>10} {'p95 us':>10}")
    print(f"{1_000:>10,} {m_small:>10.0f} {p95_small:>10.0f}")
    print(f"{1_000_000:>10,} {m_large:>10.0f} {p95_large:>10.0f}")
    print(f"ratio 1,000,000 / 1,000 (median) = {m_large / m_small:.2f} (target <= 1.2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput measurement")
    parser.add_argument("--reads", type=int, default=5000, help="balance reads per wallet")
    parser.add_argument("--skip-reads", action="store_true", help="only measure throughput")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    print(f"PostgreSQL {connection.cursor().connection.info.server_version}, {os.cpu_count()} CPU cores")
    bench_throughput(args.seconds)
    if not args.skip_reads:
        bench_balance_reads(args.reads)


if __name__ == "__main__":
    main()
