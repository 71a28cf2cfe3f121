"""Asynchronous webhook delivery with Stripe's signature scheme, retries and test knobs."""

import copy
import hashlib
import heapq
import hmac
import itertools
import json
import random
import threading
import time
import urllib.error
import urllib.request

DEFAULT_CONFIG = {
    "duplicates": 1,  # deliver each event this many times
    "shuffle": False,  # shuffle delivery order within one request's batch of events
    "delay": 0.0,  # seconds before the first attempt
    "max_attempts": 4,  # total attempts per delivery on non-2xx / connection errors
    "retry_backoff": 0.2,  # seconds; doubles after each failed attempt
    "timeout": 5.0,  # per-attempt HTTP timeout
}


def sign(payload, secret, timestamp):
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def endpoint_wants(endpoint, event):
    if endpoint.get("status") != "enabled":
        return False
    # Connect endpoints receive events from connected accounts; others only the platform's.
    if bool(endpoint.get("_connect")) != bool(event.get("account")):
        return False
    enabled = endpoint.get("enabled_events") or []
    return "*" in enabled or event["type"] in enabled


class Dispatcher:
    def __init__(self, store, **config):
        self.store = store
        self.config = dict(DEFAULT_CONFIG)
        self.configure(**config)
        self._heap = []
        self._counter = itertools.count()
        self._in_flight = 0
        self._cond = threading.Condition()
        self._stopped = False
        # A delivery chosen for reordering, held until the next one is queued (a heap entry).
        self._held = None
        # A ``faults.FaultInjector`` (the server sets it): dropped, doubled, swapped, late deliveries.
        self.faults = None
        self.log = []
        self._thread = threading.Thread(target=self._run, name="stripe-emulator-webhooks", daemon=True)
        self._thread.start()

    def configure(self, **config):
        for key, value in config.items():
            if key not in DEFAULT_CONFIG:
                raise ValueError(f"unknown webhook config {key!r}")
            self.config[key] = type(DEFAULT_CONFIG[key])(value)
        return dict(self.config)

    # ---- producer side -----------------------------------------------------------
    def enqueue(self, events):
        """Queue deliveries for a batch of events (all events from one request)."""
        jobs = []
        with self.store.lock:
            endpoints = [e for e in self.store.coll("webhook_endpoints").values() if not e.get("deleted")]
            for event in events:
                targets = [e for e in endpoints if endpoint_wants(e, event)]
                event["pending_webhooks"] = len(targets)
                for endpoint in targets:
                    for _ in range(max(1, self.config["duplicates"])):
                        jobs.append(
                            {
                                "event_id": event["id"],
                                "event_type": event["type"],
                                "payload": json.dumps(self.store.render(event), indent=2),
                                "endpoint_id": endpoint["id"],
                                "url": endpoint["url"],
                                "secret": endpoint["_secret"],
                                "attempts": 0,
                                "results": [],
                            }
                        )
        if self.config["shuffle"]:
            random.shuffle(jobs)
        due = time.monotonic() + self.config["delay"]
        with self._cond:
            for job in jobs:
                faults = self.faults.for_delivery() if self.faults is not None else set()
                job["faults"] = sorted(faults - {"reorder"})  # reorder: named once it is done
                self.log.append(job)
                if "drop" in faults:
                    continue
                job_due = due + (self.faults.delay_seconds if "delay" in faults else 0.0)
                copies = [job]
                if "duplicate" in faults:
                    twin = copy.deepcopy(job)
                    self.log.append(twin)
                    copies.append(twin)
                for delivery in copies:
                    self._push([job_due, next(self._counter), delivery], hold="reorder" in faults)
            self._cond.notify_all()

    def _push(self, entry, hold=False):
        # Called with self._cond held. A held delivery goes right after the next one queued; that
        # one has swapped places already, so it is not held in turn (every other pair swaps).
        heapq.heappush(self._heap, entry)
        held, self._held = self._held, None
        if held is not None and any(e is held for e in self._heap):
            held[0], held[1] = entry[0], next(self._counter)
            heapq.heapify(self._heap)
        elif hold:
            from .faults import REORDER_HOLD_SECONDS

            entry[0] = max(entry[0], time.monotonic() + REORDER_HOLD_SECONDS)
            heapq.heapify(self._heap)
            self._held = entry
            entry[2]["faults"] = sorted({*entry[2]["faults"], "reorder"})
            self.faults.count("webhook_reorder")

    # ---- consumer side -----------------------------------------------------------
    def pending(self):
        with self._cond:
            return len(self._heap) + self._in_flight

    def wait_idle(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def clear(self):
        with self._cond:
            self._heap.clear()
            self._held = None
            self.log.clear()
            self._cond.notify_all()

    def _run(self):
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                entry = heapq.heappop(self._heap)
                if entry is self._held:
                    self._held = None
                job = entry[2]
                self._in_flight += 1
            ok = self._attempt(job)
            with self._cond:
                self._in_flight -= 1
                if not ok and job["attempts"] < self.config["max_attempts"]:
                    backoff = self.config["retry_backoff"] * (2 ** (job["attempts"] - 1))
                    heapq.heappush(self._heap, [time.monotonic() + backoff, next(self._counter), job])
                self._cond.notify_all()

    def _attempt(self, job):
        job["attempts"] += 1
        # Signed with wall-clock time, not the emulator clock: receivers check the
        # timestamp against their own clock (stripe.Webhook's 300 s tolerance).
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sign(job["payload"], job["secret"], timestamp),
        }
        request = urllib.request.Request(job["url"], data=job["payload"].encode(), headers=headers, method="POST")
        status, error = None, None
        try:
            with urllib.request.urlopen(request, timeout=self.config["timeout"]) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except Exception as exc:  # connection refused, timeout...: all retryable
            error = f"{type(exc).__name__}: {exc}"
        job["results"].append({"status": status, "error": error, "at": timestamp})
        return status is not None and 200 <= status < 300

    def snapshot(self):
        with self._cond:
            return [
                {
                    "event_id": j["event_id"],
                    "event_type": j["event_type"],
                    "endpoint_id": j["endpoint_id"],
                    "url": j["url"],
                    "attempts": j["attempts"],
                    "status_codes": [r["status"] for r in j["results"]],
                    "errors": [r["error"] for r in j["results"] if r["error"]],
                    "delivered": any(r["status"] and 200 <= r["status"] < 300 for r in j["results"]),
                    "faults": list(j.get("faults", ())),
                }
                for j in self.log
            ]
