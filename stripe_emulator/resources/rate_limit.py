"""Stripe's rate limit, as a knob: at most N requests per second, answered with Stripe's 429.

Stripe limits each account to a number of requests per second (in test mode 25 reads and 25
writes) and answers the rest with HTTP 429 and an error of code ``rate_limit``. The emulator
does the same when told to: ``POST /emulator/rate_limit`` with ``per_second=N`` (0 turns it
off) and ``scope=writes`` (POST and DELETE, the default) or ``scope=all``. Requests are counted
over a sliding one-second window; a refused request does not count. ``GET /emulator/rate_limit``
shows the setting and how many requests were let through and refused.
"""

import collections
import threading
import time

from .. import errors
from ..router import route
from .emulator import unlocked


class RateLimiter:
    def __init__(self, per_second=0, scope="writes"):
        self.per_second = per_second
        self.scope = scope
        self.window = collections.deque()
        self.lock = threading.Lock()
        self.allowed = 0
        self.refused = 0

    def counts(self, method):
        return self.per_second > 0 and (self.scope == "all" or method in ("POST", "DELETE"))

    def admit(self, method):
        """Whether a request may go ahead now (and count it when it does)."""
        if not self.counts(method):
            return True
        with self.lock:
            now = time.monotonic()
            while self.window and now - self.window[0] >= 1.0:
                self.window.popleft()
            if len(self.window) >= self.per_second:
                self.refused += 1
                return False
            self.window.append(now)
            self.allowed += 1
            return True

    def state(self):
        return {"per_second": self.per_second, "scope": self.scope, "allowed": self.allowed, "refused": self.refused}


def limiter_for(server):
    limiter = getattr(server, "_rate_limiter", None)
    if limiter is None:
        limiter = RateLimiter()
        if server is not None:
            server._rate_limiter = limiter
    return limiter


def refusal(req):
    """Stripe's 429 for a request over the limit, or ``None``."""
    if req.server is None or limiter_for(req.server).admit(req.method):
        return None
    return errors.rate_limited()


@route("GET", r"/emulator/rate_limit")
@unlocked
def get_rate_limit(req):
    return limiter_for(req.server).state()


@route("POST", r"/emulator/rate_limit")
@unlocked
def set_rate_limit(req):
    per_second = req.int("per_second", required=True, minimum=0)
    scope = req.str("scope", default="writes")
    if scope not in ("writes", "all"):
        raise errors.invalid("scope must be writes or all", param="scope")
    req.server._rate_limiter = RateLimiter(per_second, scope)
    return req.server._rate_limiter.state()
