"""Stripe writes paced under the rate limit through one schedule in Redis, and 429s retried."""

import threading
import time

import pytest
import stripe

from processors.pacing import write_slot_wait
from processors.stripe import gateway


def test_writes_from_several_threads_are_spread_out_evenly():
    waits = []
    barrier = threading.Barrier(5)

    def write():
        barrier.wait()
        waits.append(write_slot_wait(per_second=10, processor=f"pacing-test-{id(barrier)}"))

    threads = [threading.Thread(target=write) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Five writes at once at 10/s: each gets its own slot, 0.1 s after the one before.
    assert sorted(round(w, 1) for w in waits) == [0.0, 0.1, 0.2, 0.3, 0.4]


def test_no_pacing_when_turned_off():
    assert write_slot_wait(per_second=0) == 0.0


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_grows_is_capped_and_jittered(settings, attempt):
    settings.STRIPE_RATE_LIMIT_BACKOFF_BASE = 0.25
    settings.STRIPE_RATE_LIMIT_BACKOFF_CAP = 8.0
    ceiling = min(8.0, 0.25 * 2**attempt)
    draws = {gateway.rate_limit_backoff(attempt) for _ in range(20)}
    assert all(ceiling / 2 <= d <= ceiling for d in draws) and len(draws) > 1


def test_a_429_is_retried_with_the_same_idempotency_key(settings, monkeypatch):
    settings.STRIPE_RATE_LIMIT_BACKOFF_BASE = 0.001
    settings.STRIPE_RATE_LIMIT_BACKOFF_CAP = 0.002
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs["idempotency_key"])
        if len(calls) < 3:
            raise stripe.RateLimitError("Too many requests", http_status=429)
        return "made"

    monkeypatch.setattr(time, "sleep", lambda s: None)
    assert gateway._call(flaky, idempotency_key="holdfast:payout:1:1:transfer-0") == "made"
    assert calls == ["holdfast:payout:1:1:transfer-0"] * 3


def test_giving_up_after_the_retries_says_the_provider_is_busy(settings, monkeypatch):
    settings.STRIPE_RATE_LIMIT_RETRIES = 2
    monkeypatch.setattr(time, "sleep", lambda s: None)

    def always(**kwargs):
        raise stripe.RateLimitError("Too many requests", http_status=429)

    with pytest.raises(gateway.PaymentProviderUnavailable) as busy:
        gateway._call(always, idempotency_key="k")
    assert busy.value.code == "payment_provider_rate_limited"
