"""Processor faults, as knobs: API requests that fail, lose their answer or hang; webhooks that are
dropped, doubled, swapped or late.

One ``FaultInjector`` per server. Every random choice comes from one ``random.Random(seed)``, so the
same seed with the same sequence of requests injects the same faults. The server is threaded: every
choice and every count is taken under one lock.

API rules (``/v1/`` requests only), tried in order, the first that fires wins::

    {"match": "POST /v1/payment_intents*",   # fnmatch over "METHOD /path"
     "fault": "error_500" | "rate_limit_429" | "lost_answer" | "hang",
     "probability": 1.0,                      # per matching request
     "max": 2,                                # optional: fire at most this many times
     "seconds": 5.0}                          # hang only: how long the answer is held

- ``error_500``: Stripe's 500 ``api_error``; the operation is not done.
- ``rate_limit_429``: Stripe's 429 ``rate_limit``; the operation is not done.
- ``lost_answer``: the operation is done (state, idempotency key and its answer, events), then the
  connection is closed without a response: the client sees a connection error.
- ``hang``: the operation is done, then the answer is held ``seconds`` before it is written. The
  ``hang`` count goes up when the hold begins, so a test can wait for it. Reconfiguring or
  resetting the faults lets every held answer go at once.

Webhook faults, each a probability per delivery (one event to one endpoint)::

    {"drop": p, "duplicate": p, "reorder": p, "delay": p, "delay_seconds": s}

drop: never delivered (no retries either); duplicate: delivered twice; reorder: swapped with the
next delivery queued (held at most ``REORDER_HOLD_SECONDS`` when nothing follows; the delivery it
swapped with is not held in turn, so at probability 1 every pair swaps); delay: delivered
``delay_seconds`` later.
"""

from __future__ import annotations

import fnmatch
import random
import threading

from . import errors

API_FAULTS = ("error_500", "rate_limit_429", "lost_answer", "hang")
WEBHOOK_FAULTS = ("drop", "duplicate", "reorder", "delay")
KINDS = (*API_FAULTS, *(f"webhook_{name}" for name in WEBHOOK_FAULTS))
WEBHOOK_DEFAULTS = {"drop": 0.0, "duplicate": 0.0, "reorder": 0.0, "delay": 0.0, "delay_seconds": 1.0}
# A delivery chosen for reordering waits for the next one; when none comes it goes out after this.
REORDER_HOLD_SECONDS = 1.0

ERROR_500_MESSAGE = "An unknown error occurred while processing your request. (injected fault)"


def refusal(rule):
    """The Stripe error a rule answers with instead of doing the operation, or ``None``."""
    if rule is None:
        return None
    if rule["fault"] == "error_500":
        return errors.StripeError(ERROR_500_MESSAGE, type="api_error", status=500)
    if rule["fault"] == "rate_limit_429":
        return errors.rate_limited()
    return None


def _probability(value, what):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number between 0 and 1, not {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{what} must be between 0 and 1, not {value!r}")
    return number


def _rule(raw, index):
    if not isinstance(raw, dict):
        raise ValueError(f"rules[{index}] must be an object")
    unknown = set(raw) - {"match", "fault", "probability", "max", "seconds"}
    if unknown:
        raise ValueError(f"rules[{index}] has unknown keys: {', '.join(sorted(unknown))}")
    match = raw.get("match")
    if not isinstance(match, str) or not match:
        raise ValueError(f'rules[{index}].match must be a pattern such as "POST /v1/payment_intents*"')
    fault = raw.get("fault")
    if fault not in API_FAULTS:
        raise ValueError(f"rules[{index}].fault must be one of {', '.join(API_FAULTS)}, not {fault!r}")
    limit = raw.get("max")
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int | str) or int(limit) < 0:
            raise ValueError(f"rules[{index}].max must be a whole number >= 0")
        limit = int(limit)
    seconds = float(raw.get("seconds", 30.0 if fault == "hang" else 0.0))
    if seconds < 0:
        raise ValueError(f"rules[{index}].seconds must be >= 0")
    return {
        "match": match,
        "fault": fault,
        "probability": _probability(raw.get("probability", 1.0), f"rules[{index}].probability"),
        "max": limit,
        "seconds": seconds,
        "fired": 0,
    }


def _webhooks(raw):
    raw = dict(raw or {})
    unknown = set(raw) - set(WEBHOOK_DEFAULTS)
    if unknown:
        raise ValueError(f"webhooks has unknown keys: {', '.join(sorted(unknown))}")
    config = dict(WEBHOOK_DEFAULTS)
    for name in WEBHOOK_FAULTS:
        if name in raw:
            config[name] = _probability(raw[name], f"webhooks.{name}")
    if "delay_seconds" in raw:
        config["delay_seconds"] = float(raw["delay_seconds"])
        if config["delay_seconds"] < 0:
            raise ValueError("webhooks.delay_seconds must be >= 0")
    return config


class FaultInjector:
    def __init__(self):
        self.lock = threading.Lock()
        self._release = threading.Event()
        self.configure()

    def configure(self, seed=0, rules=(), webhooks=None):
        """Replace the whole fault configuration (and zero the counts). Raises ``ValueError``."""
        parsed_rules = [_rule(raw, i) for i, raw in enumerate(rules or ())]
        parsed_webhooks = _webhooks(webhooks)
        with self.lock:
            # Answers held by the previous configuration go now.
            self._release.set()
            self._release = threading.Event()
            self.seed = int(seed)
            self.random = random.Random(self.seed)
            self.rules = parsed_rules
            self.webhooks = parsed_webhooks
            self.counts = dict.fromkeys(KINDS, 0)
        return self.state()

    def state(self):
        with self.lock:
            return {
                "seed": self.seed,
                "rules": [dict(rule) for rule in self.rules],
                "webhooks": dict(self.webhooks),
                "counts": dict(self.counts),
            }

    def fault_counts(self):
        with self.lock:
            return dict(self.counts)

    # ---- API requests --------------------------------------------------------------
    def for_request(self, method, path):
        """The rule that fires for this request, or ``None``. Counts it, except a hang (counted
        when the hold begins, after the operation was done)."""
        target = f"{method} {path}"
        with self.lock:
            for rule in self.rules:
                if not fnmatch.fnmatchcase(target, rule["match"]):
                    continue
                if rule["max"] is not None and rule["fired"] >= rule["max"]:
                    continue
                if rule["probability"] <= 0 or self.random.random() >= rule["probability"]:
                    continue
                rule["fired"] += 1
                if rule["fault"] != "hang":
                    self.counts[rule["fault"]] += 1
                return dict(rule)
        return None

    def hang(self, seconds):
        """Hold the current answer for ``seconds`` (or until the faults are reconfigured)."""
        with self.lock:
            self.counts["hang"] += 1
            release = self._release
        release.wait(seconds)

    # ---- webhooks --------------------------------------------------------------------
    def for_delivery(self):
        """The faults for one webhook delivery: a set of names out of ``WEBHOOK_FAULTS``."""
        chosen = set()
        with self.lock:
            config = self.webhooks
            if config["drop"] and self.random.random() < config["drop"]:
                self.counts["webhook_drop"] += 1
                return {"drop"}
            for name in ("duplicate", "reorder", "delay"):
                if config[name] and self.random.random() < config[name]:
                    if name != "reorder":  # counted by the dispatcher when it holds the delivery back
                        self.counts[f"webhook_{name}"] += 1
                    chosen.add(name)
        return chosen

    def count(self, kind):
        with self.lock:
            self.counts[kind] += 1

    @property
    def delay_seconds(self):
        with self.lock:
            return self.webhooks["delay_seconds"]
