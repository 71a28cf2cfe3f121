"""Which domain event tells whom what: the notification kinds and the live topics.

A capability that publishes a domain event gets notifications by one function (in
``notifications/subscribers.py``), never by a change to the publisher::

    @notifies(PayoutPaid, kind="payout_paid", label="Payout paid")
    def payout_paid(event: PayoutPaid) -> Iterable[Notice]:
        payout = Payout.objects.get(pk=event.payout_id)
        yield Notice(recipient_id=payout.user_id, dedupe_key=f"payout:{payout.pk}:paid",
                     link=f"/payouts/{payout.pk}/", context={"payout": payout}, topics=("payouts",))

plus its templates ``templates/notifications/kinds/payout_paid/{title.txt,body.txt,email.txt,email.html}``.
The function runs in a Celery task after the publisher commits (``notifications.tasks.event_deliver``),
reads the rows it needs and returns one ``Notice`` per person to tell. ``@refreshes(EventType)``
functions name the live topics (``(user_id, topic)``) whose page parts should reload.

Every event class that has a notifier or a refresher gets one on-commit subscriber (the most
specific class registered), which enqueues the delivery task: the publisher's process pays one
enqueue per event.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core import events
from core.events import DomainEvent


@dataclass(frozen=True)
class Kind:
    """A kind of notification: a person turns it on or off per channel (preferences page)."""

    key: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class Notice:
    """Tell ``recipient_id`` about an event. ``dedupe_key`` names the event for this person (the same
    key twice is one notification); ``context`` goes to the kind's templates; ``topics`` are live
    topics to refresh for this person."""

    recipient_id: int
    dedupe_key: str
    link: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)
    topics: tuple[str, ...] = ()


Notifier = Callable[[Any], Iterable[Notice] | None]
Refresher = Callable[[Any], Iterable[tuple[int, str]] | None]

KINDS: dict[str, Kind] = {}
_notifiers: dict[type[DomainEvent], list[tuple[Kind, Notifier]]] = defaultdict(list)
_refreshers: dict[type[DomainEvent], list[Refresher]] = defaultdict(list)
_enqueuers: dict[type[DomainEvent], Callable[[DomainEvent], None]] = {}


def notifies(event_type: type[DomainEvent], *, kind: str, label: str, description: str = ""):
    """Register ``fn(event) -> Iterable[Notice]`` as the notifier of ``kind`` for ``event_type``
    (and its subclasses). Registering it again (``ready()`` run twice) keeps one."""

    def register(fn: Notifier) -> Notifier:
        spec = Kind(key=kind, label=label, description=description)
        KINDS[kind] = spec
        entries = _notifiers[event_type]
        entries[:] = [(k, f) for k, f in entries if k.key != kind]
        entries.append((spec, fn))
        _subscribe(event_type)
        return fn

    return register


def refreshes(event_type: type[DomainEvent]):
    """Register ``fn(event) -> Iterable[(user_id, topic)]``: live topics to refresh on ``event_type``."""

    def register(fn: Refresher) -> Refresher:
        if fn not in _refreshers[event_type]:
            _refreshers[event_type].append(fn)
        _subscribe(event_type)
        return fn

    return register


def notifiers_for(event_class: type[DomainEvent]) -> list[tuple[Kind, Notifier]]:
    return [entry for c in event_class.__mro__ for entry in _notifiers.get(c, ())]


def refreshers_for(event_class: type[DomainEvent]) -> list[Refresher]:
    return [fn for c in event_class.__mro__ for fn in _refreshers.get(c, ())]


def kind_choices() -> list[Kind]:
    return sorted(KINDS.values(), key=lambda k: k.label)


def _registered(event_class: type) -> bool:
    return any(c in _notifiers or c in _refreshers for c in event_class.__mro__)


def _subscribe(event_type: type[DomainEvent]) -> None:
    if event_type in _enqueuers:
        return

    def enqueue(event: DomainEvent) -> None:
        # Subscribed per registered class: only the most specific one enqueues, so an event whose
        # class and base class both have functions is delivered once.
        first = next(c for c in type(event).__mro__ if c in _enqueuers)
        if first is event_type:
            from notifications.tasks import event_deliver

            event_deliver.delay(event_encode(event))

    enqueue.__qualname__ = f"enqueue_{event_type.__name__}"
    _enqueuers[event_type] = enqueue
    events.subscribe(event_type, enqueue, on_commit=True)


# --- events travel to the Celery task as JSON ------------------------------------------------


def event_encode(event: DomainEvent) -> dict[str, Any]:
    values = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        values[f.name] = value
    cls = type(event)
    return {"event": f"{cls.__module__}:{cls.__qualname__}", "fields": values}


def event_decode(data: Mapping[str, Any]) -> DomainEvent:
    module_name, _, name = str(data["event"]).partition(":")
    cls = getattr(importlib.import_module(module_name), name, None)
    if not (isinstance(cls, type) and issubclass(cls, DomainEvent) and _registered(cls)):
        raise ValueError(f"{data['event']} is not an event notifications listen to")
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        value = data["fields"].get(f.name)
        hint = hints.get(f.name)
        if value is not None and _is(hint, Decimal):
            value = Decimal(value)
        elif value is not None and _is(hint, datetime):
            value = datetime.fromisoformat(value)
        values[f.name] = value
    return cls(**values)


def _is(hint: Any, cls: type) -> bool:
    return hint is cls or cls in typing.get_args(hint)
