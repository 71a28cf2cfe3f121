"""The escrow API's detail read: escrow, task and the caller's timeline in one SQL statement."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.db import connection

from accounts.models import User
from core import sql
from core.errors import NotFound
from payments.models import Escrow, EscrowEvent
from payments.selectors.escrows import CLIENT_ONLY_EVENTS, STAFF_ONLY_EVENTS, escrow_role


@dataclass(frozen=True)
class TimelineRow:
    kind: str
    from_status: str
    to_status: str
    amount: Decimal | None
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class EscrowDetail:
    """An escrow as its party sees it on ``GET /api/v1/escrows/<id>/``: the row, its task's id,
    title and status, the caller's role and their timeline."""

    escrow: Escrow
    role: str
    task_id: int
    task_title: str
    task_status: str
    timeline: list[TimelineRow]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _escrow_detail_sql() -> str:
    escrow_columns = ", ".join(f"e.{column}" for column in sql.columns(Escrow).split(", "))
    # Each event as [kind, from, to, amount as text, reason, created_at in µs since the epoch]:
    # exact (no float, no time-zone formatting) and turned into the API's shapes in Python.
    return f"""
SELECT {escrow_columns}, t.title, t.status,
    (SELECT coalesce(json_agg(json_build_array(v.kind, v.from_status, v.to_status, v.amount::text, v.reason,
                                               (extract(epoch FROM v.created_at) * 1000000)::bigint)
                              ORDER BY v.created_at, v.id), '[]'::json)
       FROM {EscrowEvent._meta.db_table} v
      WHERE v.escrow_id = e.id
        AND v.kind <> ALL (CASE WHEN e.client_id = %(user)s THEN %(hidden_client)s::text[]
                                ELSE %(hidden_tasker)s::text[] END))
FROM {Escrow._meta.db_table} e JOIN marketplace_task t ON t.id = e.task_id
WHERE e.id = %(escrow)s AND (e.client_id = %(user)s OR e.tasker_id = %(user)s)
"""


_ESCROW_DETAIL_SQL: list[str] = []


def escrow_detail_get_for_party(*, escrow_id: int, user: User | AnonymousUser | None) -> EscrowDetail:
    """``escrow_get_for_party`` and ``escrow_timeline`` for the API's detail read, in one SQL
    statement (a hot read: the ORM's query building was most of its cost). The same rows, the
    same visibility: ``NotFound`` unless ``user`` is a party."""
    if user is None or not user.is_authenticated:
        raise NotFound("No such escrow.", code="escrow_not_found")
    if not _ESCROW_DETAIL_SQL:
        _ESCROW_DETAIL_SQL.append(_escrow_detail_sql())
    params = {
        "escrow": escrow_id,
        "user": user.pk,
        "hidden_client": sorted(STAFF_ONLY_EVENTS),
        "hidden_tasker": sorted(CLIENT_ONLY_EVENTS | STAFF_ONLY_EVENTS),
    }
    with connection.cursor() as cursor:
        cursor.execute(_ESCROW_DETAIL_SQL[0], params)
        row = cursor.fetchone()
    if row is None:
        raise NotFound("No such escrow.", code="escrow_not_found")
    width = len(Escrow._meta.concrete_fields)
    escrow = sql.from_row(Escrow, row[:width])
    title, task_status, events = row[width:]
    if isinstance(events, str):
        events = json.loads(events)
    timeline = [
        TimelineRow(
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            amount=Decimal(amount) if amount is not None else None,
            reason=reason,
            created_at=_EPOCH + timedelta(microseconds=micros),
        )
        for kind, from_status, to_status, amount, reason, micros in events
    ]
    return EscrowDetail(
        escrow=escrow,
        role=escrow_role(escrow=escrow, user=user),
        task_id=escrow.task_id,
        task_title=title,
        task_status=task_status,
        timeline=timeline,
    )
