"""Request helpers shared by pages and the API."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str | None:
    """The address a request came from, as the per-IP log-in limits and API throttles count it.

    ``X-Forwarded-For`` is trusted only as far as ``NUM_PROXIES`` (``HOLDFAST_NUM_PROXIES``)
    says proxies of ours stand in front of the app: each appends the address it received the
    request from, so with N proxies the N-th address from the right is the client's and
    anything left of it was written by the client. With 0 (the default) the header is ignored.
    """
    if request is None:
        return None
    remote_addr = request.META.get("REMOTE_ADDR")
    num_proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if num_proxies <= 0 or not forwarded:
        return remote_addr
    addresses = [address.strip() for address in forwarded.split(",")]
    return addresses[-min(num_proxies, len(addresses))] or remote_addr
