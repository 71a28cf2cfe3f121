"""Live updates benchmark: N WebSocket clients on one ASGI process, one event committed for each.

    .venv/bin/python bench/live_bench.py                  # 1,000 clients (about a minute)
    .venv/bin/python bench/live_bench.py --clients 200

Starts one uvicorn process serving ``config.asgi`` (the same command as ``make run``'s web
process) on a free port, with its own database ``holdfast_bench_live`` on the embedded
PostgreSQL (or ``DATABASE_URL``) and its own embedded Redis (``bench-live-redis``, or
``REDIS_URL``) as the channel layer. Then:

1. N users, each with a JWT access token; N WebSocket clients (this process, one event loop)
   connect to ``/ws/live/`` and authenticate with ``{"type": "auth", "token": …}``, as the apps do.
2. Another process commits N transactions, one per user (a write to the user's row), each
   pushing ``notifications.live.push(user, "bench", {"seq": i})``, and records the time of each
   commit. The message leaves on commit through Redis to the user's group, and the ASGI process
   sends it down the user's socket.
3. It prints the share of the N messages received (each client must get exactly its own), and
   the p50/p95/p99/max time from commit to receipt.

It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("HOLDFAST_DATA_DIR", str(ROOT / ".data" / "test"))
os.environ.setdefault("HOLDFAST_EMBEDDED_SERVICES", "true")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret-but-long-enough-for-hs256")
# A prefix of its own per run: no group memberships left over from an earlier run.
os.environ.setdefault("HOLDFAST_LIVE_PREFIX", f"holdfast-bench-live-{os.getpid()}")
if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
    from config import embedded

    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded.postgres_url(dbname="holdfast_bench_live")
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = embedded.redis_url(name="bench-live-redis")

import django  # noqa: E402

django.setup()

import websockets  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402

EMAIL_DOMAIN = "live-bench.test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def users(count: int) -> list[User]:
    existing = list(User.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").order_by("id")[:count])
    missing = count - len(existing)
    if missing > 0:
        User.objects.bulk_create(
            [User(email=f"u{len(existing) + i}-{time.time_ns()}@{EMAIL_DOMAIN}", password="!") for i in range(missing)]
        )
        existing = list(User.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").order_by("id")[:count])
    return existing


def start_server(port: int) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
        "--lifespan", "off", "--no-proxy-headers", "--log-level", "warning", "--backlog", "4096",
        "--timeout-graceful-shutdown", "10",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), preexec_fn=_raise_file_limit)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("uvicorn did not start")


def publish(user_ids: list[int], results: mp.Queue) -> None:
    """In its own process: one transaction per user, each pushing one message; commit times back."""
    from django.db import connection, transaction

    from notifications import live

    connection.close()  # a fresh connection in this process
    committed: dict[int, float] = {}
    started = time.time()
    for seq, user_id in enumerate(user_ids):
        with transaction.atomic():
            User.objects.filter(pk=user_id).update(last_login=None)
            # Stamped first among the commit callbacks: the time the change became visible.
            transaction.on_commit(lambda seq=seq: committed.__setitem__(seq, time.time()))
            live.push(user_id, "bench", {"seq": seq})
    finished = time.time()
    live.flush(timeout=60)
    results.put({"committed": committed, "publish_seconds": finished - started})


async def client(url: str, token: str, ready: asyncio.Event, counter: list, received: dict, seq_of_user, stop):
    async with websockets.connect(url, max_queue=None, open_timeout=120, ping_interval=None) as socket_:
        await socket_.send(json.dumps({"type": "auth", "token": token}))
        hello = json.loads(await socket_.recv())
        if hello.get("type") != "ready":
            raise RuntimeError(f"not ready: {hello}")
        counter[0] += 1
        if counter[0] == counter[1]:
            ready.set()
        while True:  # cancelled when the run is over
            raw = await socket_.recv()
            at = time.time()
            message = json.loads(raw)
            if message.get("topic") == "bench":
                received.setdefault(message["data"]["seq"], []).append((hello["user"], at))


async def run(args, tokens: list[tuple[int, str]]) -> None:
    port = _free_port()
    server = start_server(port)
    try:
        url = f"ws://127.0.0.1:{port}/ws/live/"
        ready, stop = asyncio.Event(), asyncio.Event()
        counter = [0, len(tokens)]
        received: dict[int, list] = {}
        started = time.monotonic()
        tasks = []
        for index in range(0, len(tokens), 100):  # connect in waves of 100
            tasks += [
                asyncio.create_task(client(url, token, ready, counter, received, None, stop))
                for _, token in tokens[index : index + 100]
            ]
            await asyncio.sleep(0.05)
        await asyncio.wait_for(ready.wait(), timeout=300)
        print(f"{len(tokens)} clients connected and authenticated in {time.monotonic() - started:.1f} s")

        results: mp.Queue = mp.get_context("fork").Queue()
        user_ids = [pk for pk, _ in tokens]
        publisher = mp.get_context("fork").Process(target=publish, args=(user_ids, results))
        publisher.start()
        outcome = await asyncio.get_running_loop().run_in_executor(None, results.get)
        publisher.join()
        deadline = time.monotonic() + args.wait
        while len(received) < len(user_ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            print("(uvicorn did not stop within 30 s: killed)")

    committed = outcome["committed"]
    right = {seq: hits for seq, hits in received.items() if hits and all(u == user_ids[seq] for u, _ in hits)}
    wrong = sum(1 for seq, hits in received.items() if any(u != user_ids[seq] for u, _ in hits))
    twice = sum(1 for hits in received.values() if len(hits) > 1)
    latencies = sorted((hits[0][1] - committed[seq]) * 1000 for seq, hits in right.items())
    n = len(user_ids)

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))]

    print(f"published {n} events (one transaction each) in {outcome['publish_seconds']:.2f} s")
    print(f"delivered: {len(right)}/{n} ({100 * len(right) / n:.1f} %); to the wrong user: {wrong}; twice: {twice}")
    print(
        f"commit -> receipt: p50 {pct(50):.0f} ms, p95 {pct(95):.0f} ms, p99 {pct(99):.0f} ms, "
        f"max {latencies[-1] if latencies else float('nan'):.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for stragglers after the last commit")
    args = parser.parse_args()
    _raise_file_limit()
    call_command("migrate", verbosity=0)
    tokens = [(u.pk, str(AccessToken.for_user(u))) for u in users(args.clients)]
    asyncio.run(run(args, tokens))


if __name__ == "__main__":
    main()
