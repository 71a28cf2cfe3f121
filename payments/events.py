"""Domain events the payments app publishes (``core.events``). Apps above subscribe to them:
marketplace moves the task with its escrow (in the transaction), notifications tell people (on
commit). Each carries ids, not rows: a subscriber reads what it needs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.events import DomainEvent


@dataclass(frozen=True)
class EscrowChanged(DomainEvent):
    escrow_id: int
    task_id: int


@dataclass(frozen=True)
class EscrowFunded(EscrowChanged):
    """The client's payment is held: the work can start."""


@dataclass(frozen=True)
class EscrowPaymentFailed(EscrowChanged):
    """A payment attempt was declined (recorded once per failed charge). ``attempt`` names the
    attempt (the processor record's idempotency key): the same decline reported twice has one."""

    message: str
    attempt: str = ""


@dataclass(frozen=True)
class EscrowReleased(EscrowChanged):
    """The held money went to the tasker's wallet (``status`` is ``released`` or, after a split
    ruling, ``split``)."""

    tasker_net: Decimal
    status: str


@dataclass(frozen=True)
class EscrowRefunded(EscrowChanged):
    """A refund to the client succeeded; ``full`` when nothing is held any more."""

    amount: Decimal
    full: bool
    refund_id: int | None = None


@dataclass(frozen=True)
class EscrowCancelled(EscrowChanged):
    """An unpaid escrow was closed; ``expired`` when nobody paid in time (its offer is turned down
    and the task reopens)."""

    offer_id: int
    expired: bool


@dataclass(frozen=True)
class EscrowFrozen(EscrowChanged):
    """A dispute or a chargeback holds the escrow: no release, refund or cancel until it is ruled."""

    reason: str


@dataclass(frozen=True)
class EscrowUnfrozen(EscrowChanged):
    """The hold was lifted without a ruling (a dispute withdrawn): back to funded."""


@dataclass(frozen=True)
class EscrowDelivered(EscrowChanged):
    """The tasker delivered: the review window of this funded escrow started. ``record_id`` is the
    delivery's timeline entry (each delivery has its own)."""

    record_id: int


@dataclass(frozen=True)
class EscrowChangesRequested(EscrowChanged):
    """The client asked for changes: the review window stopped until the next delivery.
    ``record_id`` is the request's timeline entry."""

    record_id: int
    reason: str


@dataclass(frozen=True)
class WalletToppedUp(DomainEvent):
    """A card top-up reached the client's wallet (funded once, by the processor's word)."""

    top_up_id: int
    user_id: int
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class WalletWithdrawn(DomainEvent):
    """Unused top-up money went back to the card that paid it (the processor made the refund)."""

    withdrawal_id: int
    top_up_id: int
    user_id: int
    amount: Decimal
    currency: str
