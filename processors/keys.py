"""Idempotency keys sent to processors, derived from our own row ids."""

from django.conf import settings


def idempotency_key(*parts: object) -> str:
    """``<namespace>:<what>:<row id>[:<attempt>]``, stable across retries. The namespace
    (``STRIPE_NAMESPACE``) keeps environments sharing one processor account apart."""
    return ":".join(str(p) for p in (settings.STRIPE_NAMESPACE, *parts))
