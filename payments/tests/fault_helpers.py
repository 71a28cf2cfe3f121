"""Processor faults for Holdfast's tests: the emulator's fault knobs (``stripe_emulator.faults``), what
the emulator holds afterwards, and the SDK's and Holdfast's retry waits shortened to test speed."""

from __future__ import annotations

import pytest

# The stripe SDK sends a write 1 + 2 times (``gateway.configure``: ``max_network_retries = 2``):
# a fault seen this many times in a row outlasts its retries.
SDK_ATTEMPTS = 3
# Holdfast's own retries of a 429 in these tests (``STRIPE_RATE_LIMIT_RETRIES``): 1 + 2 attempts.
RATE_LIMIT_RETRIES = 2

ABSORBED = ["error_500", "rate_limit_429", "lost_answer"]


@pytest.fixture
def quick_retries(monkeypatch, settings):
    """The SDK's network retries (0.5 s and up, with jitter) and Holdfast's 429 backoff, shortened:
    the same retries, sooner. The number of retries is unchanged for the SDK."""
    from stripe._http_client import HTTPClient

    monkeypatch.setattr(HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(HTTPClient, "MAX_DELAY", 0.02)
    settings.STRIPE_RATE_LIMIT_RETRIES = RATE_LIMIT_RETRIES
    settings.STRIPE_RATE_LIMIT_BACKOFF_BASE = 0.005
    settings.STRIPE_RATE_LIMIT_BACKOFF_CAP = 0.01


def times_absorbed(fault: str) -> int:
    """How many times in a row ``fault`` can hit one call and the call still goes through."""
    return RATE_LIMIT_RETRIES if fault == "rate_limit_429" else SDK_ATTEMPTS - 1


def times_outlasting(fault: str) -> int:
    """How many times in a row ``fault`` must hit one call for the call to give up."""
    return times_absorbed(fault) + 1


def inject(server, match: str, fault: str, times: int, seed: int = 0) -> None:
    """``fault`` on the next ``times`` requests matching ``match`` (``"POST /v1/refunds"``)."""
    server.configure_faults(seed=seed, rules=[{"match": match, "fault": fault, "max": times}])


def stored(server, collection: str, **where) -> list[dict]:
    """The objects of one kind the emulator holds (what Stripe did), filtered on top-level fields."""
    with server.store.lock:
        return [
            dict(obj)
            for obj in server.store.coll(collection).values()
            if all(obj.get(key) == value for key, value in where.items())
        ]
