"""Which processor handles a payment, and who handles each kind of processor event.

``processor()`` returns the configured processor (``PAYMENT_PROCESSOR``, Stripe by default) or one
by name (a payment already made keeps the processor it was made with). Apps above register what
to do with each neutral event kind (``event_handler``); the processors' webhook tasks route a
stored event to it through this table, not through an if/elif chain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from processors.interface import PaymentProcessor, PayoutProcessor, ProcessorEvent

logger = logging.getLogger(__name__)

PROCESSORS = {"stripe": "processors.stripe.adapter.StripeProcessor"}

EventHandler = Callable[[ProcessorEvent], object]
_event_handlers: dict[str, EventHandler] = {}


@cache
def _instance(name: str) -> PaymentProcessor:
    return import_string(PROCESSORS[name])()


def processor(name: str | None = None) -> PaymentProcessor:
    """The processor called ``name``, or the configured one."""
    return _instance(name or settings.PAYMENT_PROCESSOR)


def payout_processor(name: str | None = None) -> PayoutProcessor:
    """The processor that pays taskers (the configured one, or the one a payout account was made with)."""
    return _instance(name or settings.PAYMENT_PROCESSOR)  # type: ignore[return-value]


def event_handler(kind: str) -> Callable[[EventHandler], EventHandler]:
    """Register the handler of one neutral event kind (``EventKind``); one handler per kind."""

    def register(handler: EventHandler) -> EventHandler:
        existing = _event_handlers.get(kind)
        if existing is not None and existing is not handler:
            raise RuntimeError(f"{kind} is already handled by {existing.__qualname__}")
        _event_handlers[kind] = handler
        return handler

    return register


def handled_kinds() -> list[str]:
    return sorted(_event_handlers)


def event_dispatch(event: ProcessorEvent) -> bool:
    """Run the handler registered for ``event.kind``; whether there was one."""
    handler = _event_handlers.get(event.kind)
    if handler is None:
        logger.debug("No handler for %s (%s)", event.kind, event.event_id)
        return False
    handler(event)
    return True
