"""Domain events: how a lower app tells the apps above it what happened, without importing them.

Apps are layered (README, "Architecture"): a higher app calls a lower one directly, and a lower
app never imports a higher one. When something happens in a lower app that a higher one must
follow (an escrow is funded, so its task starts), the lower app *publishes* a typed event and the
higher app *subscribes* to it in its ``AppConfig.ready()``.

Two kinds of subscriber:

- **in the transaction** (the default): called at once, inside the publisher's transaction and
  under its locks. Use it when the subscriber's state must move atomically with the publisher's
  (a task follows its escrow). An exception rolls the whole change back. Such a subscriber may
  lock only rows that come after the publisher's in the lock order (escrow, then task).
- **on commit** (``on_commit=True``): called after the publisher's transaction commits, never if
  it rolls back. Use it for side effects (email, live updates): they enqueue a Celery task rather
  than doing slow work in the publisher's process.

Events are frozen dataclasses holding ids and plain values, never model instances, so an
on-commit subscriber (or the Celery task it enqueues) reads the current rows itself.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainEvent:
    """Base class of every domain event. Subclasses are frozen dataclasses named in the past tense."""


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[E], None]

_in_transaction: dict[type[DomainEvent], list[Handler]] = defaultdict(list)
_on_commit: dict[type[DomainEvent], list[Handler]] = defaultdict(list)


def subscribe(event_type: type[E], handler: Handler, *, on_commit: bool = False) -> Handler:
    """Call ``handler(event)`` for every published ``event_type`` (subclasses included). Idempotent:
    subscribing the same handler twice (``ready()`` run again) keeps one subscription."""
    handlers = (_on_commit if on_commit else _in_transaction)[event_type]
    if handler not in handlers:
        handlers.append(handler)
        _routes.cache_clear()
    return handler


def unsubscribe(event_type: type[E], handler: Handler) -> None:
    """Stop calling ``handler`` for ``event_type`` (both kinds of subscription)."""
    for table in (_in_transaction, _on_commit):
        if handler in table.get(event_type, ()):
            table[event_type].remove(handler)
    _routes.cache_clear()


def subscriber(event_type: type[E], *, on_commit: bool = False) -> Callable[[Handler], Handler]:
    """Decorator form of ``subscribe``; the module holding it must be imported in ``ready()``."""

    def register(handler: Handler) -> Handler:
        return subscribe(event_type, handler, on_commit=on_commit)

    return register


def publish(event: DomainEvent) -> None:
    """Tell the subscribers. In-transaction subscribers run now, in subscription order; on-commit
    ones are queued with ``transaction.on_commit`` (run at once when no transaction is open)."""
    now, later = _routes(type(event))
    for handler in now:
        handler(event)
    for handler in later:
        transaction.on_commit(_guarded(handler, event))


@functools.cache
def _routes(event_class: type[DomainEvent]) -> tuple[tuple[Handler, ...], tuple[Handler, ...]]:
    # Worked out once per event class (the release publishes one per escrow, thousands in a row).
    classes = event_class.__mro__
    return (
        tuple(h for c in classes for h in _in_transaction.get(c, ())),
        tuple(h for c in classes for h in _on_commit.get(c, ())),
    )


def subscribers(event_type: type[DomainEvent]) -> dict[str, list[str]]:
    """Who listens to ``event_type`` (for the README and for tests): qualified handler names."""

    def names(table: dict[type[DomainEvent], list[Handler]]) -> list[str]:
        return [f"{h.__module__}.{h.__qualname__}" for h in table.get(event_type, ())]

    return {"in_transaction": names(_in_transaction), "on_commit": names(_on_commit)}


def _guarded(handler: Handler, event: DomainEvent) -> Callable[[], None]:
    # The publisher's change is committed: a failing side effect must not look like its failure.
    def run() -> None:
        try:
            handler(event)
        except Exception:
            logger.exception("On-commit subscriber %s failed for %r", handler.__qualname__, event)

    return run
