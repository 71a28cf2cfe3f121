"""Domain events the payouts app publishes (``core.events``). Apps above it (notifications)
subscribe to tell people; each event carries ids and plain values, never rows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.events import DomainEvent


@dataclass(frozen=True)
class PayoutChanged(DomainEvent):
    payout_id: int
    tasker_id: int
    amount: Decimal  # taken from the wallet
    net: Decimal  # sent to the bank (amount less the payout fee)
    currency: str


@dataclass(frozen=True)
class PayoutRequested(PayoutChanged):
    """A payout was requested (by the tasker or their schedule); the amount left the available balance."""

    needs_approval: bool
    scheduled: bool


@dataclass(frozen=True)
class PayoutApproved(PayoutChanged):
    """Finance gave the last approval it needed; it goes to processing."""

    approver_id: int


@dataclass(frozen=True)
class PayoutInTransit(PayoutChanged):
    """The money is on its way to the bank."""

    arrival_estimate: str  # ISO date-time, or ""


@dataclass(frozen=True)
class PayoutPaid(PayoutChanged):
    """The bank received the money."""


@dataclass(frozen=True)
class PayoutFailed(PayoutChanged):
    """The payout failed and the money is back in the wallet; ``reason`` is the bank's words."""

    failure_code: str
    reason: str
    bank_problem: bool  # the tasker should fix their bank details before retrying


@dataclass(frozen=True)
class PayoutCancelled(PayoutChanged):
    """Cancelled (by the tasker) or refused (by Finance); the money is back in the wallet."""

    reason: str
    actor_id: int | None


@dataclass(frozen=True)
class PayoutWaiting(PayoutChanged):
    """Processing waits (card funds not yet available at Stripe); beat tries again."""

    reason: str


@dataclass(frozen=True)
class PayoutAccountUpdated(DomainEvent):
    """The tasker's payout account changed at the processor (onboarding done, requirements, bank)."""

    tasker_id: int
    account_reference: str
    status: str  # PayoutAccount.Status
    requirements_due: tuple[str, ...]
    became_enabled: bool
