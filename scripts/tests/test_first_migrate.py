"""`make run`'s first migrate builds dj-stripe's tables in one step: the schema must be exactly the
one the ordinary `migrate` builds (the test database was built by it)."""

import io

from django.core.management import call_command
from django.db import connection

from scripts.first_migrate import djstripe_tables_create
from scripts.schema_snapshot import schema_snapshot

ALIAS = "empty"  # the empty_database fixture (conftest.py)


def _applied(conn):
    with conn.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        return set(cursor.fetchall())


def test_first_migrate_builds_the_same_schema_as_migrate(empty_database, django_db_blocker):
    out = io.StringIO()
    with django_db_blocker.unblock():
        assert djstripe_tables_create(connection=empty_database, stdout=out) is True
        call_command("migrate", database=ALIAS, interactive=False, verbosity=0, skip_checks=True)

        with connection.cursor() as cursor:
            expected = schema_snapshot(cursor)
        with empty_database.cursor() as cursor:
            built = schema_snapshot(cursor)
        for part in expected:
            assert built[part] == expected[part], (part, sorted(expected[part] ^ built[part])[:10])
        assert _applied(empty_database) == _applied(connection)
        assert "dj-stripe: created its" in out.getvalue()

        # Once dj-stripe has a schema, it is never built again: the ordinary migrate takes over.
        assert djstripe_tables_create(connection=empty_database, stdout=out) is False
