"""A payout's state machine: the row lock, ``_transition``, timeline notes, event fields, enqueueing the executor.

The stages are beside it: ``requests`` (request), ``approvals`` (approve, hold, release, cancel,
retry), ``execution`` (transfer, bank payout, the bank's answer), ``ledger`` (the postings),
``schedules`` (scheduled payouts).

Every status change goes through ``_transition``: the row is locked, the state re-checked (a change
that already happened returns the payout as it is), the ``PayoutEvent`` written and, for money,
the ledger posted in the same transaction. Lock order: the payout row, then ledger rows (inside
``ledger_post``). The processor is never called while a payout row is locked.

Ledger (amount A taken from the wallet, fee F, net N = A − F sent to the bank):

- request (each attempt): wallet −A, payouts in transit +N, platform fee revenue +F
- paid: payouts in transit −N, processor balance +N (the money has left the platform)
- returned (failed, cancelled, refused): payouts in transit −N, fee revenue −F, wallet +A
"""

from __future__ import annotations

from django.db import transaction
from moneyed import Money

from accounts.models import User
from core.events import DomainEvent, publish
from payouts.errors import PayoutError
from payouts.models import Payout, PayoutEvent

S = Payout.Status
K = PayoutEvent.Kind

# Which moves the state machine allows (DESIGN §4). Anything else is refused and writes nothing.
TRANSITIONS: dict[str, set[str]] = {
    S.REQUESTED: {S.PROCESSING, S.ON_HOLD, S.CANCELLED},
    S.PROCESSING: {S.IN_TRANSIT, S.FAILED, S.ON_HOLD, S.CANCELLED},
    S.ON_HOLD: {S.REQUESTED, S.PROCESSING, S.CANCELLED},
    S.IN_TRANSIT: {S.PAID, S.FAILED},
    S.FAILED: {S.PROCESSING, S.CANCELLED},
    S.PAID: set(),
    S.CANCELLED: set(),
}


def payout_lock(payout_id: int) -> Payout:
    return Payout.objects.select_for_update(of=("self",)).select_related("account").get(pk=payout_id)


def _transition(
    payout: Payout,
    *,
    to: str,
    kind: str,
    actor: User | None,
    reason: str = "",
    fields: dict | None = None,
    event: DomainEvent | None = None,
) -> Payout:
    """Move a locked payout to ``to``: status, timestamps, a timeline entry; publish ``event``."""
    if to not in TRANSITIONS.get(payout.status, set()):
        raise PayoutError(
            f"This payout is {payout.get_status_display().lower()} and cannot become "
            f"{Payout.Status(to).label.lower()}.",
            code="invalid_transition",
            details={"status": payout.status, "to": to},
        )
    from_status = payout.status
    payout.status = to
    for name, value in (fields or {}).items():
        setattr(payout, name, value)
    payout.save()
    PayoutEvent.objects.create(
        payout=payout, kind=kind, from_status=from_status, to_status=to, actor=actor, reason=reason[:500]
    )
    if event is not None:
        publish(event)
    return payout


def payout_note(payout: Payout, *, kind: str, reason: str, actor: User | None = None) -> None:
    """A timeline entry that does not change the status (waiting, needs attention)."""
    PayoutEvent.objects.create(
        payout=payout, kind=kind, from_status=payout.status, to_status=payout.status, actor=actor, reason=reason[:500]
    )


def event_fields(payout: Payout) -> dict:
    return {
        "payout_id": payout.pk,
        "tasker_id": payout.tasker_id,
        "amount": payout.amount,
        "net": payout.net,
        "currency": payout.currency,
    }


def _enqueue_execute(payout: Payout) -> None:
    from payouts.tasks import payout_execute

    payout_id = payout.pk
    transaction.on_commit(lambda: payout_execute.delay(payout_id))


def money_of(payout: Payout) -> Money:
    return Money(payout.net, payout.currency)
