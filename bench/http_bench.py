"""HTTP benchmark: API reads against a bare DRF view, webhooks under load, browsing as tasks grow.

    .venv/bin/python bench/http_bench.py                 # about ten minutes (1,000,000 tasks at the end)
    .venv/bin/python bench/http_bench.py --quick         # about four minutes: shorter windows, no million
    .venv/bin/python bench/http_bench.py --large 0       # everything but the million

Starts the stack as it is deployed, on free ports: gunicorn with 2 (sync) workers serving
``config.wsgi`` with the production settings (DEBUG off, persistent database connections,
``DATABASE_CONN_MAX_AGE=60``), the embedded PostgreSQL (its own database ``holdfast_bench_http``,
made afresh) and Redis, the Stripe emulator, and one Celery worker as the Procfile starts it (its
default prefork pool: one process per core, 2 here). The settings
are ``bench/http_settings.py``: production's, plus ``/bench/bare/`` (``bench/http_urls.py``), an
authenticated DRF view returning a constant. Throttling stays on, with rates no run reaches.

It prints, in one run:

1. API reads (``GET /api/v1/escrows/<id>/``, ``/api/v1/wallet/``, ``/api/v1/tasks/`` with 100 open
   tasks, a page of 20) as a share of the bare view's requests per second, at 1, 4 and 16
   connections; in each round the read and the bare view alternate in short slices, and the
   table shows the median share over the rounds (with the lowest and highest).
2. Webhooks: signed ``payment_intent.succeeded`` events posted at 20, 50, 100 and 200 events/s
   (open loop: each at its time, however long the earlier ones take; a late answer counts from
   when its event was due): accepted per second, p50/p99 time to answer, errors. The emulator's
   own deliveries are switched off for the run so that the rate is the bench's.
3. Time to funded: at 50 events/s, one event per escrow whose card payment went through: from
   posting the event to the escrow's ``funded_at``, p50/p99, with the one Celery worker
   (dj-stripe's mirror of each event runs after the handlers, at a lower priority).
4. Browsing: the home page and ``GET /api/v1/tasks/`` p50 with 100 open tasks, then 10,000 (and
   1,000,000 with ``--large``), a third of them with pending offers; the ratio to the 100, the
   SQL statements per request (counted in this process with Django's test client), and the page's
   statement as PostgreSQL runs it (median ``EXPLAIN ANALYZE`` execution and planning time), which
   a busy machine moves far less than the HTTP p50.

The client is this Python process, on the same 2 cores as the server: its own CPU is part of
every figure (more so for the bare view, the fastest). It asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


WEB_PORT = _free_port()
EMULATOR_PORT = _free_port()
WEB = f"http://127.0.0.1:{WEB_PORT}"
HIGH_RATE = "100000000/min"

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "bench.http_settings",
        "DJANGO_SECRET_KEY": "bench-only-not-secret-but-long-enough-for-hs256",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_CONN_MAX_AGE": "60",
        "STRIPE_SECRET_KEY": "",
        "STRIPE_EMULATOR_URL": f"http://127.0.0.1:{EMULATOR_PORT}",
        "HOLDFAST_SITE_URL": WEB,
        "HOLDFAST_API_ANON_RATE": HIGH_RATE,
        "HOLDFAST_API_USER_RATE": HIGH_RATE,
        "HOLDFAST_API_AUTH_RATE": HIGH_RATE,
        "HOLDFAST_ESCROW_DAILY_LIMIT": "100000000.00",
        # No mail server here: the notification emails (one per funded escrow) are rendered and
        # kept in memory, instead of retrying against a refused SMTP connection.
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
)
os.environ.setdefault("HOLDFAST_DATA_DIR", str(ROOT / ".data" / "test"))

from config import embedded  # noqa: E402

os.environ["DATABASE_URL"] = embedded.postgres_url(dbname="holdfast_bench_http")
for stale in embedded.DATA_DIR.glob("bench-http-redis.db*"):  # no messages left from a run before
    stale.unlink()
os.environ["REDIS_URL"] = embedded.redis_url(name="bench-http-redis")


def _recreate_database() -> None:
    import psycopg

    url = embedded.postgres_url(dbname="postgres")
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'holdfast_bench_http'")
        conn.execute('DROP DATABASE IF EXISTS "holdfast_bench_http"')
        conn.execute('CREATE DATABASE "holdfast_bench_http"')


_recreate_database()

import django  # noqa: E402

django.setup()

from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

# --- the stack --------------------------------------------------------------------------------

PROCESSES: list[subprocess.Popen] = []


def _start(command: list[str], name: str) -> subprocess.Popen:
    log = open(ROOT / ".data" / f"bench-http-{name}.log", "w")  # noqa: SIM115 (kept open for the process)
    process = subprocess.Popen(command, cwd=ROOT, env=os.environ, stdout=log, stderr=subprocess.STDOUT)
    PROCESSES.append(process)
    return process


def _wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own localhost URL)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {timeout:.0f} s")


def _stop_all() -> None:
    for process in PROCESSES:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in PROCESSES:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def stack_start() -> None:
    python = sys.executable
    _start([python, "-m", "stripe_emulator", "--port", str(EMULATOR_PORT)], "emulator")
    _start(
        [python, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{WEB_PORT}", "--workers", "2"],
        "gunicorn",
    )
    # The Procfile's worker: one Celery worker, its default prefork pool (a process per core: 2).
    _start([python, "-m", "celery", "-A", "config", "worker", "--loglevel", "WARNING"], "celery")
    _wait_for(f"http://127.0.0.1:{EMULATOR_PORT}/emulator/health")
    _wait_for(f"{WEB}/favicon.ico")


# --- data -------------------------------------------------------------------------------------

PASSWORD = "bench-password-not-secret-1"


def _user(email: str, *, client: bool, tasker: bool):
    from accounts.services import user_register

    return user_register(email=email, password=PASSWORD, name=email.split("@")[0], is_client=client, is_tasker=tasker)


def _paid_escrow(client, tasker, n: int):
    """An escrow whose card payment went through at the emulator; its webhook is the bench's to send."""
    from marketplace import services as market
    from payments import escrow as escrows
    from payments.models import Escrow

    task = market.task_post(
        client=client,
        title=f"Bench escrow task {n}",
        description="Mount a TV on a plaster wall.",
        category="assembly",
        budget_amount="40.00",
        budget_currency="USD",
    )
    offer = market.offer_submit(task=task, tasker=tasker, amount="40.00", currency="USD")
    market.offer_accept(offer=offer, actor=client)
    escrow = Escrow.objects.get(offer=offer)
    escrows.escrow_payment_confirm(escrow=escrow, actor=client, payment_method="pm_card_visa", return_url=f"{WEB}/")
    escrow.refresh_from_db()
    return escrow


def data_prepare(*, escrows_to_fund: int):
    from djstripe.models import WebhookEndpoint

    from processors.stripe.setup import stripe_setup
    from scripts.first_migrate import migrate_database

    migrate_database(fast=True)
    stripe_setup(site_url=WEB)
    # The bench posts the events itself, at its own rate: the emulator's deliveries are switched off.
    for endpoint in WebhookEndpoint.objects.all():
        _emulator_post(f"/v1/webhook_endpoints/{endpoint.id}", {"disabled": "true"})
    platform = WebhookEndpoint.objects.get(metadata__holdfast_role="platform")

    client = _user("client@bench.test", client=True, tasker=False)
    tasker = _user("tasker@bench.test", client=False, tasker=True)
    read_escrow = _paid_escrow(client, tasker, 0)
    _post_event(platform, _event(f"evt_bench_read_{time.time_ns()}", read_escrow.payment.reference))
    rate_escrow = _paid_escrow(client, tasker, 1)
    funding = [_paid_escrow(client, tasker, 2 + i) for i in range(escrows_to_fund)]
    return {
        "platform": platform,
        "client": client,
        "tasker": tasker,
        "read_escrow": read_escrow,
        "rate_escrow": rate_escrow,
        "funding": funding,
    }


def _emulator_post(path: str, data: dict) -> None:
    body = "&".join(f"{k}={v}" for k, v in data.items()).encode()
    request = urllib.request.Request(  # noqa: S310 (our own localhost URL)
        f"http://127.0.0.1:{EMULATOR_PORT}{path}", data=body, headers={"Authorization": "Bearer sk_test_bench"}
    )
    urllib.request.urlopen(request, timeout=10).read()  # noqa: S310


def tasks_open_fill(total: int, client_id: int, tasker_ids: list[int]) -> None:
    """Top the open tasks up to ``total`` with INSERT … SELECT; a third get one or two pending offers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM marketplace_task WHERE status = 'open'")
        have = cursor.fetchone()[0]
        missing = total - have
        step = 100_000
        for start in range(0, max(missing, 0), step):
            count = min(step, missing - start)
            cursor.execute(
                """
                INSERT INTO marketplace_task
                    (client_id, title, description, category, budget, budget_currency, status, created_at, updated_at)
                SELECT %s, 'Assemble a flat-pack wardrobe #' || g, 'Two wardrobes, tools on site, third floor.',
                       'assembly', 50 + (g %% 200), 'USD', 'open', now() - make_interval(secs => g), now()
                FROM generate_series(%s::int, %s::int) AS g
                RETURNING id
                """,
                [client_id, have + start + 1, have + start + count],
            )
            ids = [row[0] for row in cursor.fetchall()]
            offers = [(task_id, tasker_ids[(task_id // 3) % len(tasker_ids)]) for task_id in ids if task_id % 3 == 0]
            offers += [
                (task_id, tasker_ids[(task_id // 3 + 1) % len(tasker_ids)]) for task_id in ids if task_id % 6 == 0
            ]
            cursor.execute(
                """
                INSERT INTO marketplace_offer (task_id, tasker_id, amount, amount_currency, message, status,
                                               created_at, updated_at)
                SELECT t, k, 45, 'USD', 'I can do it this weekend.', 'pending', now(), now()
                FROM unnest(%s::bigint[], %s::bigint[]) AS o(t, k)
                """,
                [[o[0] for o in offers], [o[1] for o in offers]],
            )
        # As autovacuum would have by the time a real table has grown this big: visibility map,
        # statistics, and the search index's pending list merged (measured after, not during).
        cursor.execute("VACUUM (ANALYZE) marketplace_task")
        cursor.execute("VACUUM (ANALYZE) marketplace_offer")


# --- HTTP client: raw sockets, so that the client costs as little as it can -------------------------


def _request_bytes(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{WEB_PORT}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _send(request: bytes) -> int:
    """One request on a new connection (gunicorn's sync workers close each); the status code."""
    with socket.create_connection(("127.0.0.1", WEB_PORT), timeout=60) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head = b"".join(chunks[:1])[:12]
    return int(head[9:12]) if head.startswith(b"HTTP/1.") else 0


def rps(request: bytes, *, connections_count: int, seconds: float) -> float:
    """Requests per second answered 200 by ``connections_count`` clients in a closed loop."""
    stop = time.monotonic() + seconds
    counts = [0] * connections_count
    errors = [0] * connections_count

    def loop(i: int) -> None:
        while time.monotonic() < stop:
            if _send(request) == 200:
                counts[i] += 1
            else:
                errors[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections_count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if sum(errors):
        print(f"    ({sum(errors)} non-200 answers)")
    return sum(counts) / (time.monotonic() - started)


def latencies(request: bytes, n: int, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        _send(request)
    out = []
    for _ in range(n):
        started = time.perf_counter()
        status = _send(request)
        out.append(time.perf_counter() - started)
        if status != 200:
            raise SystemExit(f"answer {status} for {request[:60]!r}")
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- webhooks ---------------------------------------------------------------------------------


def _event(event_id: str, payment_reference: str) -> bytes:
    from processors.stripe import gateway

    pi = json.loads(str(gateway.payment_intent_retrieve(payment_reference)))
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "payment_intent.succeeded",
            "livemode": False,
            "created": int(time.time()),
            "api_version": "2026-08-26.dahlia",
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": pi},
        }
    ).encode()


def _signed(endpoint, body: bytes) -> bytes:
    timestamp = int(time.time())
    mac = hmac.new(endpoint.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return _request_bytes(
        "POST",
        f"/stripe/webhook/{endpoint.djstripe_uuid}/",
        {"Content-Type": "application/json", "Stripe-Signature": f"t={timestamp},v1={mac}"},
        body,
    )


def _post_event(endpoint, body: bytes) -> int:
    return _send(_signed(endpoint, body))


def open_loop(requests_: list[bytes], rate: float, senders: int = 64) -> tuple[list[float], list[float], int]:
    """Send each request at its time (``i / rate``); (send times, latencies from the due time, errors)."""
    start = time.monotonic() + 0.2
    latencies_: list[float] = [0.0] * len(requests_)
    sent_at: list[float] = [0.0] * len(requests_)
    errors = [0]
    next_index = [0]
    lock = threading.Lock()

    def sender() -> None:
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(requests_):
                return
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent_at[i] = time.time()
            status = _send(requests_[i])
            latencies_[i] = time.monotonic() - due
            if status != 200:
                with lock:
                    errors[0] += 1

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent_at, latencies_, errors[0]


def celery_drain(timeout: float = 300) -> bool:
    """Wait until every stored event is handled and mirrored."""
    from django.db.models import Q

    from processors.models import WebhookEvent

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = Q(processed_at__isnull=True) | Q(mirrored_at__isnull=True)
        if not WebhookEvent.objects.filter(pending).exists():
            return True
        time.sleep(0.2)
    return False


# --- the run ----------------------------------------------------------------------------------


def _token(email: str) -> str:
    body = json.dumps({"email": email, "password": PASSWORD}).encode()
    request = urllib.request.Request(  # noqa: S310
        f"{WEB}/api/v1/auth/token/", data=body, headers={"Content-Type": "application/json"}
    )
    return json.loads(urllib.request.urlopen(request, timeout=10).read())["access"]  # noqa: S310


def api_reads(data, *, rounds: int, seconds: float) -> None:
    token = _token("client@bench.test")
    auth = {"Authorization": f"Bearer {token}"}
    reads = {
        "escrow detail": f"/api/v1/escrows/{data['read_escrow'].pk}/",
        "wallet": "/api/v1/wallet/",
        "tasks list": "/api/v1/tasks/",
    }
    bare = _request_bytes("GET", "/bench/bare/", auth)
    print("\n1. API reads: requests per second as a share of the bare DRF view (median of rounds)")
    print(f"   {'read':<15}" + "".join(f"{f'{c} conn':>22}" for c in (1, 4, 16)))
    table: dict[str, dict[int, list[float]]] = {name: {} for name in reads}
    bare_rps: dict[int, list[float]] = {}
    # Each round alternates the bare view and the read in short slices, so that whatever else the
    # machine is doing weighs on both alike; the share is the round's read total / bare total.
    slices = 4
    for conns in (1, 4, 16):
        for _ in range(rounds):
            for name, path in reads.items():
                request = _request_bytes("GET", path, auth)
                base = value = 0.0
                for _ in range(slices):
                    base += rps(bare, connections_count=conns, seconds=seconds / slices)
                    value += rps(request, connections_count=conns, seconds=seconds / slices)
                table[name].setdefault(conns, []).append(value / base)
                bare_rps.setdefault(conns, []).append(base / slices)
    for name in reads:
        cells = []
        for conns in (1, 4, 16):
            shares = table[name][conns]
            cells.append(f"{statistics.median(shares):.0%} ({min(shares):.0%}-{max(shares):.0%})")
        print(f"   {name:<15}" + "".join(f"{c:>22}" for c in cells))
    print(f"   {'bare view rps':<15}" + "".join(f"{statistics.median(bare_rps[c]):>22.0f}" for c in (1, 4, 16)))
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    counts = []
    for name, path in reads.items():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        counts.append(f"{name} {len(queries)}")
    print("   SQL statements per request: " + ", ".join(counts))


def webhooks(data, *, seconds: float) -> None:
    platform = data["platform"]
    reference = data["rate_escrow"].payment.reference
    print("\n2. Webhooks: signed payment_intent.succeeded events, open loop")
    print(f"   {'offered/s':>10}{'events':>8}{'accepted/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'drained':>9}")
    template = _event("evt_TEMPLATE_ID_0000000000", reference)
    # Warm up (each gunicorn worker's first webhook opens its broker connection), then drain.
    warm = [
        template.replace(b"evt_TEMPLATE_ID_0000000000", f"evt_warm_{time.time_ns()}_{i}".encode()) for i in range(20)
    ]
    open_loop([_signed(platform, body) for body in warm], 20)
    celery_drain()
    for rate in (20, 50, 100, 200):
        count = int(rate * seconds)
        prefix = f"evt_r{rate}_{time.time_ns()}_"
        bodies = [template.replace(b"evt_TEMPLATE_ID_0000000000", f"{prefix}{i:06d}".encode()) for i in range(count)]
        requests_ = [_signed(platform, body) for body in bodies]
        started = time.monotonic()
        _, lat, errors = open_loop(requests_, rate)
        elapsed = time.monotonic() - started - 0.2
        accepted = (count - errors) / max(elapsed, 1e-9)
        drain_started = time.monotonic()
        drained = celery_drain()
        print(
            f"   {rate:>10}{count:>8}{accepted:>12.1f}{_pct(lat, 0.5) * 1000:>9.1f}{_pct(lat, 0.99) * 1000:>9.1f}"
            f"{errors:>8}{f'{time.monotonic() - drain_started:.0f} s' if drained else 'no':>9}"
        )


def time_to_funded(data, *, rate: float = 50) -> None:
    from payments.models import Escrow

    platform = data["platform"]
    escrows = data["funding"]
    bodies = [_event(f"evt_fund_{e.pk}_{time.time_ns()}", e.payment.reference) for e in escrows]
    sent_at, lat, errors = open_loop([_signed(platform, b) for b in bodies], rate)
    celery_drain()
    funded = dict(Escrow.objects.filter(pk__in=[e.pk for e in escrows]).values_list("pk", "funded_at"))
    waits = [funded[e.pk].timestamp() - sent for e, sent in zip(escrows, sent_at, strict=True) if funded[e.pk]]
    print(f"\n3. Time to funded at {rate:.0f} events/s, one Celery worker ({len(escrows)} escrows)")
    print(
        f"   funded {len(waits)}/{len(escrows)}; from posting the event to funded_at:"
        f" p50 {_pct(waits, 0.5) * 1000:.0f} ms,"
        f" p99 {_pct(waits, 0.99) * 1000:.0f} ms (answered: p50 {_pct(lat, 0.5) * 1000:.1f} ms, errors {errors})"
    )


def _page_statement_ms(runs: int = 21) -> tuple[float, float]:
    """The API's first page (rows, pending offers and open count in one statement) as PostgreSQL
    runs it: median execution and planning time of ``EXPLAIN ANALYZE``, in this process. Unlike
    the HTTP p50 it does not move with the rest of the machine's load."""
    import re

    from marketplace import selectors

    browse = selectors.task_list_open()
    page = browse.annotate(open_total=selectors._open_total(**browse.counted_by))[:20]
    sql, params = page.query.sql_with_params()
    execution, planning = [], []
    with connection.cursor() as cursor:
        for _ in range(runs):
            cursor.execute("EXPLAIN (ANALYZE, TIMING OFF) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            execution.append(float(re.search(r"Execution Time: ([0-9.]+)", plan).group(1)))
            planning.append(float(re.search(r"Planning Time: ([0-9.]+)", plan).group(1)))
    return statistics.median(execution), statistics.median(planning)


def browsing(data, *, sizes: list[int], samples: int) -> None:
    taskers = data["taskers"]
    client_id = data["client"].pk
    pages = {"home page": "/", "GET /api/v1/tasks/": "/api/v1/tasks/"}
    results: dict[int, dict[str, tuple[float, int]]] = {}
    sql_times: dict[int, tuple[float, float]] = {}
    django_client = Client()
    for size in sizes:
        fill_started = time.monotonic()
        tasks_open_fill(size, client_id, taskers)
        fill = time.monotonic() - fill_started
        results[size] = {}
        sql_times[size] = _page_statement_ms()
        for name, path in pages.items():
            p50 = statistics.median(latencies(_request_bytes("GET", path), samples))
            with CaptureQueriesContext(connection) as queries:
                assert django_client.get(path).status_code == 200
            results[size][name] = (p50, len(queries))
        print(f"   ({size:,} open tasks ready in {fill:.0f} s)", flush=True)
    print("\n4. Browsing: p50 of the first page, anonymous (ratio to 100 open tasks; SQL statements)")
    print(f"   {'open tasks':>12}" + "".join(f"{name:>30}" for name in pages) + f"{'the statement (PostgreSQL)':>34}")
    for size in sizes:
        cells = []
        for name in pages:
            p50, queries = results[size][name]
            ratio = p50 / results[sizes[0]][name][0]
            cells.append(f"{p50 * 1000:.1f} ms  {ratio:.2f}x  {queries} q")
        execution, planning = sql_times[size]
        statement = f"{execution:.3f} ms + {planning:.3f} ms planning"
        print(f"   {size:>12,}" + "".join(f"{c:>30}" for c in cells) + f"{statement:>34}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows, fewer rounds, no million")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of API reads (3; quick: 2)")
    parser.add_argument("--large", type=int, default=None, help="the largest browse size (1000000; quick: 0)")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 3)
    seconds = 1.0 if args.quick else 2.0
    large = args.large if args.large is not None else (0 if args.quick else 1_000_000)

    load = os.getloadavg()
    print(f"Load average before the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (2 cores)", flush=True)
    try:
        stack_start()
        data = data_prepare(escrows_to_fund=100 if args.quick else 200)
        connections.close_all()
        print(
            f"Stack up: gunicorn {WEB} (2 sync workers), emulator :{EMULATOR_PORT}, one Celery worker (2 processes)",
            flush=True,
        )
        data["taskers"] = [data["tasker"].pk] + [
            _user(f"tasker{i}@bench.test", client=False, tasker=True).pk for i in range(1, 6)
        ]
        tasks_open_fill(100, data["client"].pk, data["taskers"])  # the task list reads a full page
        api_reads(data, rounds=rounds, seconds=seconds)
        webhooks(data, seconds=3.0 if args.quick else 5.0)
        time_to_funded(data)
        sizes = [100, 10_000] + ([large] if large else [])
        browsing(data, sizes=sizes, samples=60 if args.quick else 150)
    finally:
        _stop_all()
        connections.close_all()
    load = os.getloadavg()
    print(f"\nLoad average after the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
