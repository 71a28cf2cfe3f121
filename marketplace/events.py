"""Domain events the marketplace publishes (``core.events``). Apps above subscribe to them
(notifications tells the client of a new offer and the tasker of an accepted one). Each carries
ids, not rows: a subscriber reads what it needs."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import DomainEvent


@dataclass(frozen=True)
class OfferChanged(DomainEvent):
    offer_id: int
    task_id: int
    tasker_id: int
    client_id: int


@dataclass(frozen=True)
class OfferSubmitted(OfferChanged):
    """A tasker bid on a task (published once per offer)."""


@dataclass(frozen=True)
class OfferAccepted(OfferChanged):
    """The client accepted the offer; ``escrow_id`` is the escrow now awaiting the client's payment."""

    escrow_id: int
