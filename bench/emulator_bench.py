"""The Stripe emulator's answer time per SDK call, before and after its one-write/TCP_NODELAY fix,
side by side in one process (so a busy machine weighs on both alike).

    .venv/bin/python bench/emulator_bench.py            # about half a minute
    .venv/bin/python bench/emulator_bench.py --calls 500 --rounds 5

Two emulators on free ports: the current one, and one whose handler answers as it used to (headers
and body in two writes, Nagle on). The official ``stripe`` SDK calls each in turn over its kept-
alive connection: a ``Customer.retrieve`` and a ``PaymentIntent.create`` (a write, which also
emits events), per round; the table shows the median per call over the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import stripe  # noqa: E402

from stripe_emulator.server import EmulatorServer, _Handler  # noqa: E402


class _TwoWritesHandler(_Handler):
    """The emulator's handler as it was: unbuffered, Nagle on (headers, then body)."""

    disable_nagle_algorithm = False
    wbufsize = 0


class _TwoWritesServer(EmulatorServer):
    handler_class = _TwoWritesHandler


def _per_call(url: str, calls: int, call) -> float:
    stripe.api_base = url
    call()  # connect
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stripe.api_key = "sk_test_emulator_bench"
    stripe.max_network_retries = 0
    servers = {
        "two writes (before)": _TwoWritesServer(port=0).start(),
        "one write + TCP_NODELAY": EmulatorServer(port=0).start(),
    }
    try:
        customers = {}
        for name, server in servers.items():
            stripe.api_base = server.url
            customers[name] = stripe.Customer.create(email="bench@example.com").id
        results: dict[str, dict[str, list[float]]] = {name: {"retrieve": [], "create": []} for name in servers}
        for _ in range(args.rounds):
            for name, server in servers.items():
                results[name]["retrieve"].append(
                    _per_call(server.url, args.calls, lambda n=name: stripe.Customer.retrieve(customers[n]))
                )
                results[name]["create"].append(
                    _per_call(
                        server.url,
                        max(10, args.calls // 4),
                        lambda: stripe.PaymentIntent.create(amount=1000, currency="usd"),
                    )
                )
        print(f"SDK call time on a kept-alive connection, median of {args.rounds} rounds")
        print(f"   {'emulator':<26}{'Customer.retrieve':>20}{'PaymentIntent.create':>22}")
        for name in servers:
            retrieve = statistics.median(results[name]["retrieve"]) * 1000
            create = statistics.median(results[name]["create"]) * 1000
            print(f"   {name:<26}{retrieve:>17.1f} ms{create:>19.1f} ms")
    finally:
        for server in servers.values():
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
