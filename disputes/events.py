"""Domain events the disputes app publishes (``core.events``), for the apps above (notifications).

Each carries ids, not rows: the dispute (or chargeback), its escrow and task, and both parties,
so a subscriber can tell each of them without reading anything first.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.events import DomainEvent


@dataclass(frozen=True)
class DisputeChanged(DomainEvent):
    dispute_id: int
    escrow_id: int
    task_id: int
    client_id: int
    tasker_id: int


@dataclass(frozen=True)
class DisputeOpened(DisputeChanged):
    """A party opened a dispute: the escrow is frozen; the other party has until ``respond_by``."""

    opened_by_id: int
    reason: str
    amount_in_question: Decimal
    currency: str


@dataclass(frozen=True)
class DisputeMessagePosted(DisputeChanged):
    message_id: int
    author_id: int
    from_support: bool


@dataclass(frozen=True)
class DisputeEvidenceAdded(DisputeChanged):
    evidence_id: int
    uploaded_by_id: int


@dataclass(frozen=True)
class DisputeSettlementProposed(DisputeChanged):
    proposed_by_id: int
    tasker_amount: Decimal
    currency: str


@dataclass(frozen=True)
class DisputeEscalated(DisputeChanged):
    """In Support's queue: the response deadline passed, or a party asked for Support."""


@dataclass(frozen=True)
class DisputeRulingAwaitsApproval(DisputeChanged):
    """A ruling above ``DISPUTE_SECOND_APPROVAL_AMOUNT`` waits for a second staff member."""

    proposed_by_id: int
    outcome: str


@dataclass(frozen=True)
class DisputeRuled(DisputeChanged):
    """Ruled (by Support, or by the parties' agreement): ``outcome`` is release, refund or split;
    ``client_refund`` is what goes back to the client."""

    outcome: str
    client_refund: Decimal
    by_agreement: bool


@dataclass(frozen=True)
class DisputeWithdrawn(DisputeChanged):
    """The opener withdrew: the escrow is back to funded (review window restarted if it ran)."""


@dataclass(frozen=True)
class ChargebackChanged(DomainEvent):
    chargeback_id: int
    escrow_id: int | None
    task_id: int | None
    client_id: int | None
    tasker_id: int | None


@dataclass(frozen=True)
class ChargebackOpened(ChargebackChanged):
    """The client's bank disputed the card payment; Finance answers by ``evidence_due_by``."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class ChargebackClosed(ChargebackChanged):
    """The bank decided: ``won`` (the money came back) or not."""

    won: bool
