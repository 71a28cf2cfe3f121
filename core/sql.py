"""Hand-written SQL that returns model instances, for the few hot paths that need it.

Most code uses the ORM. Where a benchmark showed the ORM's Python cost to be most of an
operation (the ledger post, the escrow release), the statement is written as SQL and its rows
are turned into instances with ``Model.from_db``, which is what the ORM itself does.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def columns(model: type[models.Model], table: str | None = None) -> str:
    """Every concrete column of ``model``, in field order: the select list ``fetch`` expects."""
    prefix = f"{table}." if table else ""
    return ", ".join(prefix + connection.ops.quote_name(f.column) for f in model._meta.concrete_fields)


def fetch(model: type[M], sql: str, params) -> list[M]:
    """Run ``sql``, whose select list is ``columns(model)``, and return the rows as instances."""
    names = [f.attname for f in model._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [model.from_db(connection.alias, names, row) for row in cursor.fetchall()]
