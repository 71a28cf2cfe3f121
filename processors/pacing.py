"""Pacing of writes to a processor under its rate limit, shared by every worker process.

Stripe answers more than its limit of requests per second (25 writes in test mode, 100 live)
with HTTP 429. Holdfast stays under ``STRIPE_MAX_WRITES_PER_SECOND`` with one schedule kept in
Redis for all workers: the generic cell rate algorithm (GCRA). Each write reserves the next free
slot, ``1/rate`` seconds after the previous one, and sleeps until it; a burst of workers is thus
spread out evenly instead of hitting the limit together and being refused. A 429 that still comes
(another client of the same account, clock skew) is retried by the gateway with backoff and jitter.
"""

from __future__ import annotations

import logging
import time
from functools import cache

from django.conf import settings

logger = logging.getLogger(__name__)

# KEYS[1]: the schedule's key. ARGV[1]: seconds between writes. Returns how long to wait (seconds).
# Redis' own clock is used, so workers on different machines agree on "now".
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
redis.call('SET', KEYS[1], string.format('%.6f', tat + interval), 'EX', 60)
return string.format('%.6f', tat - now)
"""


@cache
def _script():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    return client.register_script(_RESERVE)


def write_slot_wait(*, processor: str = "stripe", per_second: float | None = None) -> float:
    """Wait for this write's turn under the rate limit; returns the seconds waited.

    ``per_second`` defaults to ``STRIPE_MAX_WRITES_PER_SECOND``; 0 turns pacing off. When Redis
    cannot be reached the write goes ahead unpaced (the 429 retry still protects it).
    """
    rate = settings.STRIPE_MAX_WRITES_PER_SECOND if per_second is None else per_second
    if not rate or rate <= 0:
        return 0.0
    try:
        wait = float(_script()(keys=[f"{settings.STRIPE_NAMESPACE}:pacing:{processor}:writes"], args=[1.0 / rate]))
    except Exception as exc:  # noqa: BLE001 (pacing is a courtesy; the call itself must not fail for it)
        logger.warning("Write pacing unavailable, going ahead: %s", exc)
        return 0.0
    if wait > 0:
        time.sleep(wait)
    return wait
