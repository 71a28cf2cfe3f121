"""The notifications app's own event: published by its beat job, delivered like any other."""

from __future__ import annotations

from dataclasses import dataclass

from payments.events import EscrowChanged


@dataclass(frozen=True)
class EscrowReleaseSoon(EscrowChanged):
    """An escrow releases itself to the tasker within a day unless the client objects.
    ``release_due_at`` (ISO 8601) names the review window: a new delivery has a new one."""

    release_due_at: str
