"""Hand-written SQL that returns model instances, for the few hot paths that need it.

Most code uses the ORM. Where a benchmark showed the ORM's Python cost to be most of an
operation (the ledger post, the escrow release), the statement is written as SQL and its rows
become instances the way the ORM makes them: the same converters, then ``Model.from_db``.
"""

from __future__ import annotations

import functools
from typing import TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def columns(model: type[models.Model]) -> str:
    """Every concrete column of ``model``, in field order: the select list ``fetch`` expects."""
    return ", ".join(connection.ops.quote_name(f.column) for f in model._meta.concrete_fields)


def fetch(model: type[M], sql: str, params) -> list[M]:
    """Run ``sql``, whose select list is ``columns(model)``, and return the rows as instances."""
    names = [f.attname for f in model._meta.concrete_fields]
    converting = []  # (position, column, converters), applied as the ORM applies them
    for position in _converted_positions(model):
        col = model._meta.concrete_fields[position].get_col(model._meta.db_table)
        converting.append((position, col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    instances = []
    for row in rows:
        if converting:
            row = list(row)
            for position, col, converters in converting:
                for convert in converters:
                    row[position] = convert(row[position], col, connection)
        instances.append(model.from_db(connection.alias, names, row))
    return instances


def from_row(model: type[M], row) -> M:
    """One instance from a row whose first values are ``columns(model)`` (as ``fetch`` makes them)."""
    names = [f.attname for f in model._meta.concrete_fields]
    values = list(row[: len(names)])
    for position in _converted_positions(model):
        col = model._meta.concrete_fields[position].get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            values[position] = convert(values[position], col, connection)
    return model.from_db(connection.alias, names, values)


@functools.cache
def _converted_positions(model: type[models.Model]) -> tuple[int, ...]:
    """Which of the model's columns have converters (JSON, for one): most models have none."""
    positions = []
    for position, field in enumerate(model._meta.concrete_fields):
        col = field.get_col(model._meta.db_table)
        if connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            positions.append(position)
    return tuple(positions)


def append_only_sql(table: str) -> tuple[str, str]:
    """Migration SQL (forward, backward) making ``table`` append-only: PostgreSQL refuses every
    UPDATE and DELETE of its rows, whatever code path tries (timelines, processor records)."""
    forward = f"""
CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table} rows are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER {table}_no_update_delete
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_append_only();
"""
    backward = f"""
DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};
DROP FUNCTION IF EXISTS {table}_append_only();
"""
    return forward, backward
