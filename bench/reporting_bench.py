"""Reporting benchmark: per-user statistics and the revenue dashboard at 10,000 and 1,000,000 escrows.

    .venv/bin/python bench/reporting_bench.py                  # both sizes (about 10-20 minutes)
    .venv/bin/python bench/reporting_bench.py --sizes 10000    # one size
    .venv/bin/python bench/reporting_bench.py --runs 5         # fewer timed runs per query

Each size gets its own database on the embedded PostgreSQL (``holdfast_bench_reporting_<size>``,
dropped and made again; or ``DATABASE_URL``'s server), migrated, then filled with a year of
marketplace history in time order: every escrow with its user, task, accepted offer and ledger
entries — a funding entry (processor balance -total, escrow +total); then a release (escrow -total,
tasker wallet +net, fee revenue +fees) for most, a full refund (escrow -total, processor +total,
with its refund row) for one in 25, and the last two weeks' escrows still held. Rows are written by
``INSERT ... SELECT generate_series`` in batches of 100,000 escrows with the ledger's triggers off
*for the loading session only* (``session_replication_role = replica``): balances are written
directly, and after loading the script checks that every entry balances and every escrow and wallet
account's balance is the sum of its postings. One client and one tasker have 200 escrows each at
both sizes (everyone else's are spread over a pool of 2 % as many users as escrows), so the per-user
figures are the same work at both sizes and any difference is the cost of the platform's size.

Timed (median of ``--runs``, after one warm-up; Django's ORM and the app's own selectors):

1. per-user statistics for the whole year loaded (13 months), as the client and as the tasker
   (``reporting.selectors.statistics.user_statistics``; ``--stats-runs``, median and fastest run),
   and the first history page;
2. the revenue dashboard for one month, per day, all currencies
   (``reporting.selectors.revenue.platform_dashboard``), with the roll-up refreshed and 1,000 more
   escrows funded since (read live); also the roll-up's first build and an incremental refresh,
   and the same month read without any roll-up (every posting summed live) for comparison.

3. the per-user statistics once more, the two sizes' databases in turn (``--rounds`` rounds), so
   that both sizes are timed at the same moments of a shared machine: their ratio.

It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100_000
OWN = 200  # escrows of the measured client, and of the measured tasker


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("HOLDFAST_DATA_DIR", str(ROOT / ".data" / "test"))
os.environ.setdefault("HOLDFAST_EMBEDDED_SERVICES", "true")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
sys.path.insert(0, str(ROOT))


def _with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def _setup(dbname: str) -> None:
    """A fresh, empty database ``dbname`` on the embedded PostgreSQL (or DATABASE_URL's server), then Django."""
    import psycopg

    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
    else:
        from config import embedded

        url = embedded.postgres_url(dbname="postgres")
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    os.environ["DATABASE_URL"] = _with_database(url, dbname)
    import django

    django.setup()


LOAD_SQL = [
    # The batch's escrows: who, which price, what happened, when (a year, in time order).
    """
    CREATE TEMP TABLE b ON COMMIT DROP AS
    SELECT n,
           CASE WHEN n <= %(own)s THEN %(me_client)s ELSE %(clients0)s + n %% %(pool)s END AS client_id,
           CASE WHEN n > %(own)s AND n <= 2 * %(own)s THEN %(me_tasker)s ELSE %(taskers0)s + n %% %(pool)s END
               AS tasker_id,
           nextval(pg_get_serial_sequence('marketplace_task', 'id')) AS task_id,
           nextval(pg_get_serial_sequence('marketplace_offer', 'id')) AS offer_id,
           nextval(pg_get_serial_sequence('payments_escrow', 'id')) AS escrow_id,
           nextval(pg_get_serial_sequence('wallets_ledgeraccount', 'id')) AS account_id,
           nextval(pg_get_serial_sequence('wallets_journalentry', 'id')) AS funding_id,
           nextval(pg_get_serial_sequence('wallets_journalentry', 'id')) AS closing_id,
           p.amount, p.client_fee, p.commission, p.tasker_net, p.client_total,
           t.at AS funded_at,
           CASE WHEN t.at > %(held_after)s THEN 'funded' WHEN n %% 25 = 0 THEN 'refunded' ELSE 'released' END
               AS status
      FROM generate_series(%(first)s::bigint, %(last)s::bigint) n
      JOIN unnest(%(amount)s::numeric[], %(client_fee)s::numeric[], %(commission)s::numeric[],
                  %(tasker_net)s::numeric[], %(client_total)s::numeric[])
           WITH ORDINALITY AS p(amount, client_fee, commission, tasker_net, client_total, k) ON p.k = 1 + n %% 5,
      LATERAL (SELECT %(start)s::timestamptz + (n - 1) * %(step)s::interval AS at) t
    """,
    "ANALYZE b",  # so that the joins below are hash joins, not a scan of the accounts per escrow
    """
    INSERT INTO marketplace_task (id, title, description, category, budget_currency, budget, status,
                                  created_at, updated_at, assigned_at, started_at, accepted_offer_id, client_id)
    SELECT task_id, 'Assemble bookshelf #' || n, 'Two flat-pack bookshelves, tools on site.', 'assembly',
           'USD', amount,
           CASE status WHEN 'funded' THEN 'in_progress' WHEN 'refunded' THEN 'cancelled' ELSE 'completed' END,
           funded_at, funded_at, funded_at, funded_at, offer_id, client_id
      FROM b
    """,
    """
    INSERT INTO marketplace_offer (id, amount_currency, amount, message, status, created_at, updated_at,
                                   accepted_at, tasker_id, task_id)
    SELECT offer_id, 'USD', amount, 'I can do it.', 'accepted', funded_at, funded_at, funded_at, tasker_id, task_id
      FROM b
    """,
    """
    INSERT INTO payments_escrow (id, status, currency, amount, client_fee, commission, tasker_net, client_total,
                                 refunded_amount, released_to_tasker, review_window, payment_attempts,
                                 created_at, updated_at, funded_at, released_at, refunded_at,
                                 client_id, offer_id, task_id, tasker_id, fee_policy_id)
    SELECT escrow_id, status, 'USD', amount, client_fee, commission, tasker_net, client_total,
           CASE status WHEN 'refunded' THEN client_total ELSE 0 END,
           CASE status WHEN 'released' THEN tasker_net ELSE 0 END,
           interval '7 days', 1, funded_at, funded_at, funded_at,
           CASE status WHEN 'released' THEN funded_at + interval '3 days' END,
           CASE status WHEN 'refunded' THEN funded_at + interval '1 day' END,
           client_id, offer_id, task_id, tasker_id, %(policy)s
      FROM b
    """,
    """
    INSERT INTO payments_escrowrefund (escrow_id, amount, reason, status, processor_reference, for_ruling,
                                       failure_message, created_at, completed_at)
    SELECT escrow_id, client_total, 'Cancelled before delivery', 'succeeded', 're_bench_' || escrow_id, false, '',
           funded_at + interval '1 day', funded_at + interval '1 day'
      FROM b WHERE status = 'refunded'
    """,
    """
    INSERT INTO wallets_ledgeraccount (id, kind, currency, owner_id, balance, created_at, client_id,
                                       owner_type_id, tasker_id, user_id)
    SELECT account_id, 'escrow', 'USD', escrow_id::text, CASE status WHEN 'funded' THEN client_total ELSE 0 END,
           funded_at, client_id, %(escrow_type)s, tasker_id, NULL
      FROM b
    """,
    """
    INSERT INTO wallets_journalentry (id, idempotency_key, kind, reference, reference_type_id, reference_id,
                                      memo, created_at)
    SELECT funding_id, 'escrow:' || escrow_id || ':funding', 'escrow_funding', 'payments.escrow:' || escrow_id,
           %(escrow_type)s, escrow_id::text, 'Card payment pi_bench_' || escrow_id, funded_at
      FROM b
    UNION ALL
    SELECT closing_id,
           CASE status WHEN 'released' THEN 'escrow:' || escrow_id || ':release' ELSE 'escrow-refund:' || escrow_id END,
           CASE status WHEN 'released' THEN 'escrow_release' ELSE 'escrow_refund' END,
           'payments.escrow:' || escrow_id, %(escrow_type)s, escrow_id::text, '',
           funded_at + CASE status WHEN 'released' THEN interval '3 days' ELSE interval '1 day' END
      FROM b WHERE status <> 'funded'
    """,
    """
    INSERT INTO wallets_posting (entry_id, account_id, currency, amount, balance_after, created_at)
    SELECT entry_id, account_id, 'USD', amount, balance_after, at FROM (
        SELECT n, 0 AS k, funding_id AS entry_id, %(processor)s::bigint AS account_id, -client_total AS amount,
               NULL::numeric AS balance_after, funded_at AS at FROM b
        UNION ALL
        SELECT n, 1, funding_id, account_id, client_total, client_total, funded_at FROM b
        UNION ALL
        SELECT n, 2, closing_id, account_id, -client_total, 0,
               funded_at + CASE status WHEN 'released' THEN interval '3 days' ELSE interval '1 day' END
          FROM b WHERE status <> 'funded'
        UNION ALL
        SELECT n, 3, closing_id, w.id, tasker_net, NULL, funded_at + interval '3 days'
          FROM b JOIN wallets_ledgeraccount w
            ON w.kind = 'user_wallet' AND w.currency = 'USD' AND w.user_id = b.tasker_id
         WHERE status = 'released'
        UNION ALL
        SELECT n, 4, closing_id, %(fees)s::bigint, client_fee + commission, NULL, funded_at + interval '3 days'
          FROM b WHERE status = 'released'
        UNION ALL
        SELECT n, 5, closing_id, %(processor)s::bigint, client_total, NULL, funded_at + interval '1 day'
          FROM b WHERE status = 'refunded'
    ) lines ORDER BY n, k
    """,
]

USERS_SQL = """
    INSERT INTO accounts_user (id, password, is_superuser, is_staff, is_active, date_joined, email, name)
    SELECT %(first_id)s + g, '!', false, false, true, now(), 'bench-' || (%(first_id)s + g) || '@example.com', 'Bench'
      FROM generate_series(0, %(count)s - 1) g
"""
WALLETS_SQL = """
    INSERT INTO wallets_ledgeraccount (kind, currency, balance, created_at, user_id)
    SELECT 'user_wallet', 'USD', 0, now(), id FROM accounts_user WHERE email LIKE 'bench-%%'
"""
# Wallet balances and running balances, written once after loading (the trigger's job, done in bulk).
WALLET_BALANCES_SQL = [
    """
    UPDATE wallets_posting p SET balance_after = r.running FROM (
        SELECT p.id, sum(p.amount) OVER (PARTITION BY p.account_id ORDER BY p.id) AS running
          FROM wallets_posting p JOIN wallets_ledgeraccount a ON a.id = p.account_id AND a.kind = 'user_wallet'
    ) r WHERE r.id = p.id
    """,
    """
    UPDATE wallets_ledgeraccount a SET balance = s.total
      FROM (SELECT account_id, sum(amount) AS total FROM wallets_posting GROUP BY account_id) s
     WHERE s.account_id = a.id AND a.kind = 'user_wallet'
    """,
]
VERIFY_SQL = {
    "entries that do not balance": """SELECT count(*) FROM (SELECT entry_id FROM wallets_posting
                                       GROUP BY entry_id HAVING sum(amount) <> 0) x""",
    "accounts whose balance is not the sum of their postings": """
        SELECT count(*) FROM wallets_ledgeraccount a
          LEFT JOIN (SELECT account_id, sum(amount) t FROM wallets_posting GROUP BY account_id) s
                 ON s.account_id = a.id
         WHERE a.kind IN ('escrow', 'user_wallet') AND a.balance <> coalesce(s.t, 0)""",
}


def load(size: int) -> dict:
    """Fill the database with ``size`` escrows; returns the measured client's and tasker's ids."""
    import psycopg
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from payments.fees import fee_breakdown
    from payments.models import Escrow
    from payments.services import fee_policy_active
    from wallets import services as ledger
    from wallets.models import LedgerAccount

    policy = fee_policy_active(currency="USD")
    prices = [
        fee_breakdown(amount=p, currency="USD", rules=policy.rules)
        for p in ("25.00", "60.00", "99.90", "150.00", "480.00")
    ]
    dsn = os.environ["DATABASE_URL"]
    pool = max(100, size // 50)
    now = timezone.now()
    start = now - timezone.timedelta(days=365)
    params = {
        "own": OWN,
        "pool": pool,
        "policy": policy.pk,
        "escrow_type": ContentType.objects.get_for_model(Escrow).pk,
        "processor": ledger.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD").pk,
        "fees": ledger.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD").pk,
        "start": start,
        "step": timezone.timedelta(days=365 - 1 / 24) / size,
        "held_after": now - timezone.timedelta(days=14),
        **{f: [getattr(b, f) for b in prices] for f in ("amount", "client_fee", "commission", "tasker_net")},
        "client_total": [b.client_total for b in prices],
    }
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # this session only: triggers off while loading
        first_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM accounts_user").fetchone()[0]
        count = 2 + 2 * pool
        conn.execute(USERS_SQL, {"first_id": first_id, "count": count})
        conn.execute(f"SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), {first_id + count})")
        conn.execute(WALLETS_SQL)
        params.update(me_client=first_id, me_tasker=first_id + 1, clients0=first_id + 2, taskers0=first_id + 2 + pool)
        for first in range(1, size + 1, BATCH):
            with conn.transaction():
                for sql in LOAD_SQL:
                    conn.execute(sql, {**params, "first": first, "last": min(size, first + BATCH - 1)})
            print(f"    {min(size, first + BATCH - 1):>9,} escrows loaded", flush=True)
        for sql in WALLET_BALANCES_SQL:
            conn.execute(sql)
        conn.execute("RESET session_replication_role")
        for what, sql in VERIFY_SQL.items():
            print(f"    {what}: {conn.execute(sql).fetchone()[0]}")
        conn.execute("VACUUM ANALYZE")
    return {"client": first_id, "tasker": first_id + 1}


def fund_recent(count: int) -> None:
    """``count`` escrows funded just now, after the roll-up's end (what the dashboard reads live)."""
    import psycopg
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from payments.models import Escrow
    from wallets import services as ledger
    from wallets.models import LedgerAccount

    dsn = os.environ["DATABASE_URL"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        now = conn.execute("SELECT clock_timestamp()").fetchone()[0]
        me = conn.execute("SELECT min(id) FROM accounts_user WHERE email LIKE 'bench-%%'").fetchone()[0]
        params = {
            "own": 0,
            "pool": 100,
            "policy": conn.execute("SELECT id FROM payments_feepolicy WHERE currency = 'USD' AND is_active").fetchone()[
                0
            ],
            "escrow_type": ContentType.objects.get_for_model(Escrow).pk,
            "processor": ledger.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency="USD").pk,
            "fees": ledger.platform_account(kind=LedgerAccount.Kind.PLATFORM_FEE_REVENUE, currency="USD").pk,
            "start": now - timezone.timedelta(milliseconds=10_000_000),  # escrow n is funded at now + n ms
            "step": timezone.timedelta(milliseconds=1),
            "held_after": now - timezone.timedelta(days=1),
            "amount": ["50.00"] * 5,
            "client_fee": ["2.50"] * 5,
            "commission": ["10.00"] * 5,
            "tasker_net": ["40.00"] * 5,
            "client_total": ["52.50"] * 5,
            "me_client": me,
            "me_tasker": me + 1,
            "clients0": me + 2,
            "taskers0": me + 2,
            "first": 10_000_001,
            "last": 10_000_000 + count,
        }
        with conn.transaction():
            for sql in LOAD_SQL:
                conn.execute(sql, params)


def timed(fn, runs: int) -> float:
    """The median of ``runs`` timed calls, in ms (after one warm-up call)."""
    return _samples(fn, runs)[0]


def _samples(fn, runs: int) -> tuple[float, float]:
    fn()  # warm-up: connection, prepared statements, caches
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000, min(samples) * 1000


def measure(size: int, runs: int, stats_runs: int) -> dict:
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from reporting import services
    from reporting.models import RollupState
    from reporting.periods import Period, period_parse
    from reporting.selectors.history import HistoryFilters, history_queryset, history_rows
    from reporting.selectors.revenue import platform_dashboard
    from reporting.selectors.statistics import StatsQuery, user_statistics
    from scripts.first_migrate import migrate_database

    t = time.perf_counter()
    migrate_database(verbosity=0)
    print(f"  migrated in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    ids = load(size)
    loaded = time.perf_counter() - t
    print(f"  loaded {size:,} escrows in {loaded:.0f} s")
    client, tasker = User.objects.get(pk=ids["client"]), User.objects.get(pk=ids["tasker"])
    today = timezone.localdate()
    year = Period("custom", today - dt.timedelta(days=370), today)  # the whole loaded history
    as_client = StatsQuery(role="client", period=year, currency="USD")
    as_tasker = StatsQuery(role="tasker", period=year, currency="USD")
    assert user_statistics(user=client, query=as_client)["total_payments"] == OWN
    # A few milliseconds each: many runs, so that a busy moment of the machine does not decide.
    client_ms, client_min = _samples(lambda: user_statistics(user=client, query=as_client), stats_runs)
    tasker_ms, tasker_min = _samples(lambda: user_statistics(user=tasker, query=as_tasker), stats_runs)
    figures = {
        "size": size,
        "load_s": round(loaded),
        "stats_client_ms": client_ms,
        "stats_client_min_ms": client_min,
        "stats_tasker_ms": tasker_ms,
        "stats_tasker_min_ms": tasker_min,
        "history_page_ms": timed(
            lambda: history_rows(list(history_queryset(user=client, filters=HistoryFilters())[:25])), stats_runs
        ),
    }
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    month = Period("custom", last_month_end.replace(day=1), last_month_end)
    current = Period("custom", today.replace(day=1), today)

    t = time.perf_counter()
    figures["dashboard_live_only_ms"] = (platform_dashboard(period=month), (time.perf_counter() - t) * 1000)[1]
    t = time.perf_counter()
    services.ledger_rollup_refresh()
    figures["rollup_first_build_s"] = round(time.perf_counter() - t, 1)
    fund_recent(1_000)
    t = time.perf_counter()
    services.ledger_rollup_refresh(margin=dt.timedelta(0))
    figures["rollup_refresh_1000_ms"] = (time.perf_counter() - t) * 1000
    fund_recent(1_000)  # and 1,000 more the dashboard reads live
    figures["dashboard_month_ms"] = timed(lambda: platform_dashboard(period=month), runs)
    figures["dashboard_current_month_ms"] = timed(lambda: platform_dashboard(period=current), runs)
    figures["dashboard_12m_by_month_ms"] = timed(
        lambda: platform_dashboard(period=period_parse({"period": "12m"}), granularity="month"), runs
    )
    covered = RollupState.objects.get(pk=1).covered_until
    figures["rollup_covered_until"] = covered.isoformat()
    figures["postgres"] = connection.cursor().connection.info.server_version
    return figures


def child(size: int, runs: int, stats_runs: int) -> None:
    _setup(f"holdfast_bench_reporting_{size}")
    print("RESULT " + json.dumps(measure(size, runs, stats_runs)), flush=True)


def stats_child(size: int, runs: int) -> None:
    """Time the per-user statistics on the already loaded database of ``size`` escrows."""
    import datetime as dt

    dsn_base = os.environ.get("DATABASE_URL")
    if dsn_base:
        os.environ["DATABASE_URL"] = _with_database(dsn_base, f"holdfast_bench_reporting_{size}")
    else:
        from config import embedded

        os.environ["DATABASE_URL"] = embedded.postgres_url(dbname=f"holdfast_bench_reporting_{size}")
    import django

    django.setup()
    from django.utils import timezone

    from accounts.models import User
    from reporting.periods import Period
    from reporting.selectors.statistics import StatsQuery, user_statistics

    client, tasker = User.objects.filter(email__startswith="bench-").order_by("id")[:2]
    today = timezone.localdate()
    year = Period("custom", today - dt.timedelta(days=370), today)
    out = {}
    for role, user in (("client", client), ("tasker", tasker)):
        query = StatsQuery(role=role, period=year, currency="USD")
        out[role] = _samples(lambda: user_statistics(user=user, query=query), runs)[0]  # noqa: B023
    print("STATS " + json.dumps(out), flush=True)


def compare_stats(sizes: list[int], rounds: int, runs: int) -> dict[int, dict[str, float]]:
    """Per-user statistics on each size in turn, ``rounds`` times (A B A B …), so that every size sees
    the same moments of a shared machine; the median of each size's round medians."""
    seen: dict[int, dict[str, list[float]]] = {size: {"client": [], "tasker": []} for size in sizes}
    for _ in range(rounds):
        for size in sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--stats-child", str(size), "--stats-runs", str(runs)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            figures = json.loads(next(line for line in out.splitlines() if line.startswith("STATS "))[6:])
            for role, ms in figures.items():
                seen[size][role].append(ms)
    return {size: {role: statistics.median(v) for role, v in roles.items()} for size, roles in seen.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,1000000", help="escrow counts, comma-separated")
    parser.add_argument("--runs", type=int, default=11, help="timed runs per query (the median is printed)")
    parser.add_argument("--stats-runs", type=int, default=200, help="timed runs of each per-user query")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the per-user comparison")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stats-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.runs, args.stats_runs)
        return
    if args.stats_child:
        stats_child(args.stats_child, args.stats_runs)
        return
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        print(f"{size:,} escrows", flush=True)
        with subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                str(size),
                "--runs",
                str(args.runs),
                "--stats-runs",
                str(args.stats_runs),
            ],
            stdout=subprocess.PIPE,
            text=True,
        ) as proc:
            for line in proc.stdout:
                if line.startswith("RESULT "):
                    results.append(json.loads(line[7:]))
                else:
                    print(line, end="", flush=True)
        if proc.returncode:
            sys.exit(f"the {size:,}-escrow run failed")
    print()
    print(f"{'escrows':>10} | stats client | stats tasker | history page | dashboard month | month, live only")
    for r in results:
        print(
            f"{r['size']:>10,} | {r['stats_client_ms']:9.1f} ms | {r['stats_tasker_ms']:9.1f} ms | "
            f"{r['history_page_ms']:9.1f} ms | {r['dashboard_month_ms']:12.1f} ms | "
            f"{r['dashboard_live_only_ms']:10.0f} ms"
        )
    for r in results:
        print(
            f"{r['size']:>10,}: roll-up first build {r['rollup_first_build_s']} s, refresh after 1,000 escrows "
            f"{r['rollup_refresh_1000_ms']:.0f} ms; dashboard this month {r['dashboard_current_month_ms']:.1f} ms, "
            f"12 months by month {r['dashboard_12m_by_month_ms']:.1f} ms; loaded in {r['load_s']} s"
        )
    if len(results) >= 2:
        small, big = results[0], results[-1]
        print()
        print(f"per-user statistics, sizes measured in turn ({args.rounds} rounds of {args.stats_runs} runs each):")
        compared = compare_stats([small["size"], big["size"]], args.rounds, args.stats_runs)
        for role in ("client", "tasker"):
            a, b = compared[small["size"]][role], compared[big["size"]][role]
            print(
                f"  as {role}: {a:.2f} ms at {small['size']:,}, {b:.2f} ms at {big['size']:,}: "
                f"{b / a:.2f}x (target <= 1.5x)"
            )
        for key in ("stats_client", "stats_tasker"):
            print(
                f"{key}: {big['size']:,} / {small['size']:,} = {big[key + '_ms'] / small[key + '_ms']:.2f}x by median, "
                f"{big[key + '_min_ms'] / small[key + '_min_ms']:.2f}x by fastest run (target <= 1.5x)"
            )
        print(f"dashboard month at {big['size']:,}: {big['dashboard_month_ms']:.1f} ms (target < 200 ms)")


if __name__ == "__main__":
    main()
