"""The only writer of an escrow's status.

Every status change goes through ``escrow_transition``: the escrow row is locked (``escrow_lock``),
the change is checked against ``TRANSITIONS``, a change that already happened returns the escrow
as it is (a retried job or a double click is harmless), the status, its timestamp and the
timeline event are written in one statement, and the domain event is published to the apps
above (marketplace moves the task in the same transaction; notifications act on commit).

The write is SQL, one round trip (update + timeline insert in one statement), for every
transition alike: the review-window sweeper releases thousands of escrows in a row, and building
these statements with the ORM cost more Python time than the database spent on the whole release
(``bench/escrow_bench.py`` prints both side by side). ``escrow_lock`` is SQL for the same reason.
Both return model instances the way the ORM makes them (``core.sql``).
"""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from accounts.models import User
from core import events, sql
from core.errors import InvalidTransition, NotFound
from payments.models import Escrow, EscrowEvent, EscrowStatus

S = EscrowStatus

# Which status may follow which. ``disputed`` is entered by a dispute or a chargeback (holds.py)
# and left by a ruling (released, refunded, split) or a withdrawal (back to funded).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.AWAITING_PAYMENT: frozenset({S.FUNDED, S.CANCELLED}),
    S.FUNDED: frozenset({S.RELEASED, S.REFUNDED, S.DISPUTED}),
    S.DISPUTED: frozenset({S.FUNDED, S.RELEASED, S.REFUNDED, S.SPLIT}),
    S.RELEASED: frozenset(),
    S.REFUNDED: frozenset(),
    S.CANCELLED: frozenset(),
    S.SPLIT: frozenset(),
}

# Columns a transition may set besides the status (each is a parameter of the statement).
WRITABLE = frozenset(
    {
        "funded_at",
        "released_at",
        "refunded_at",
        "cancelled_at",
        "release_due_at",
        "released_to_tasker",
        "payment_id",
        "funding_source",
    }
)

LOCK_SQL = f"SELECT {sql.columns(Escrow)} FROM payments_escrow WHERE id = %s FOR UPDATE"

TRANSITION_SQL = """
WITH moved AS (
    UPDATE payments_escrow SET status = %(to)s, updated_at = %(now)s{sets}
     WHERE id = %(escrow)s AND status = %(from)s
 RETURNING id
)
INSERT INTO payments_escrowevent (escrow_id, kind, actor_id, from_status, to_status, amount, reason, created_at)
SELECT id, %(kind)s, %(actor)s, %(from)s, %(to)s, %(amount)s, %(reason)s, %(now)s FROM moved
"""


def escrow_lock(escrow_id: int) -> Escrow:
    """Lock the escrow row for the rest of the transaction and return it as it is now.

    Lock order, everywhere: escrows (in id order when several), then their task, then ledger rows
    (``ledger_post`` locks those in id order). In-transaction subscribers to escrow events run
    under this lock, so they may lock the task but never an escrow.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("escrow_lock() needs a transaction: the lock would end with the statement")
    locked = sql.fetch(Escrow, LOCK_SQL, [escrow_id])
    if not locked:
        raise NotFound("No such escrow.", code="escrow_not_found")
    return locked[0]


def escrow_can_become(escrow: Escrow, status: str) -> bool:
    return status in TRANSITIONS[escrow.status]


def escrow_transition(
    *,
    escrow: Escrow,
    to: str,
    kind: str,
    actor: User | None = None,
    reason: str = "",
    amount: Decimal | None = None,
    fields: dict[str, object] | None = None,
    event: events.DomainEvent | None = None,
    now: datetime | None = None,
) -> Escrow:
    """Move a locked escrow (``escrow_lock``) to ``to``, with its timeline event, then publish ``event``.

    Already ``to``: returned unchanged, nothing written or published. Not allowed by
    ``TRANSITIONS``: ``InvalidTransition`` (code ``invalid_transition``), nothing written. Callers
    check their own business rules (who may, whether the work was delivered) before calling.
    """
    if escrow.status == to:
        return escrow
    if not escrow_can_become(escrow, to):
        raise InvalidTransition(escrow, to=to)
    fields = fields or {}
    unknown = set(fields) - WRITABLE
    if unknown:
        raise ValueError(f"A transition cannot set {sorted(unknown)}")
    now = now or timezone.now()
    params = {
        **fields,
        "escrow": escrow.pk,
        "from": escrow.status,
        "to": to,
        "now": now,
        "kind": kind,
        "actor": actor.pk if actor is not None else None,
        "amount": amount,
        "reason": reason[:500],
    }
    with connection.cursor() as cursor:
        cursor.execute(_transition_sql(frozenset(fields)), params)
        if cursor.rowcount != 1:  # only possible if the caller did not lock the row
            raise RuntimeError(f"Escrow {escrow.pk} changed under a transition; was it locked?")
    for name, value in fields.items():
        setattr(escrow, name, value)
    escrow.status, escrow.updated_at = to, now
    if event is not None:
        events.publish(event)
    return escrow


@functools.cache
def _transition_sql(fields: frozenset[str]) -> str:
    # One text per set of columns: PostgreSQL prepares it once per connection (core/sql.py).
    sets = "".join(f", {connection.ops.quote_name(name)} = %({name})s" for name in sorted(fields))
    return TRANSITION_SQL.format(sets=sets)


def escrow_event_record(
    escrow: Escrow,
    kind: str,
    *,
    actor: User | None = None,
    amount: Decimal | None = None,
    reason: str = "",
    from_status: str = "",
    to_status: str = "",
) -> EscrowEvent:
    """A timeline entry that changes no status (created, a decline, a delivery, a flag for Support)."""
    return EscrowEvent.objects.create(
        escrow=escrow,
        kind=kind,
        actor=actor,
        amount=amount,
        reason=reason[:500],
        from_status=from_status,
        to_status=to_status,
    )
