"""What the webhook's Celery tasks do with a stored Stripe event (``processors.tasks``).

The event is turned into a neutral ``ProcessorEvent`` and handed to the handler registered for
its kind (``processors.registry.event_handler``, DESIGN §5), which re-reads its object from
Stripe. Then, a few seconds later and at a lower priority, dj-stripe mirrors it (the ``Event``
row and the object it is about, read from Stripe): handlers must not count on the mirror having
caught up. An object Stripe no longer has (a customer deleted since, an event of another account)
is logged and the event acknowledged: there is nothing to mirror, and retrying cannot bring it
back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import OperationalError

from processors.interface import PaymentError, PaymentProviderUnavailable, ProcessorEvent
from processors.stripe import gateway
from processors.stripe.adapter import event_from_stripe

logger = logging.getLogger(__name__)


def stripe_event_mirror(*, event_id: str, payload: Mapping[str, Any], endpoint: str) -> str:
    """Mirror the event into dj-stripe; what went wrong, if anything ("" when it was mirrored).

    Raises ``PaymentProviderUnavailable`` or ``OperationalError`` when Stripe or the database is
    away for a moment (the task retries). Anything else is logged: the mirror is a copy, and a
    failure to copy must not keep Holdfast's own handler from running.
    """
    try:
        gateway.event_mirror(payload=payload, endpoint_uuid=endpoint)
    except (PaymentProviderUnavailable, OperationalError):
        raise
    except PaymentError as exc:
        log = logger.warning if exc.code == "stripe_resource_missing" else logger.error
        log("Stripe event %s (%s) not mirrored: %s (%s)", event_id, payload.get("type"), exc.message, exc.code)
        return f"not mirrored: {exc.message} ({exc.code})"
    except Exception as exc:  # a payload dj-stripe cannot read; Holdfast's handler still runs
        logger.exception("Stripe event %s (%s) not mirrored", event_id, payload.get("type"))
        return f"not mirrored: {type(exc).__name__}"
    return ""


def stripe_event_neutral(*, event_id: str, payload: Mapping[str, Any]) -> ProcessorEvent | None:
    """The neutral event for a stored Stripe event, or ``None`` when Holdfast does not act on it."""
    data = payload.get("data")
    obj = data.get("object", {}) if isinstance(data, Mapping) else {}
    return event_from_stripe(event_id=event_id, event_type=str(payload.get("type", "")), obj=obj)
