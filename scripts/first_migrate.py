"""`migrate`, with dj-stripe's tables built in one step on an empty database.

dj-stripe 2.11 ships three migrations with ~85 ``CreateModel`` and ~520 ``RemoveField``
operations on models that all point at one another (every one has a foreign key to
``Account``). After each operation Django re-renders the changed model and every model
related to it, ~50 model classes each time: measured, 95 % of a first ``migrate`` is that
rendering, in Python, not in PostgreSQL (about 2.5 minutes of CPU).

On a database where none of dj-stripe's migrations has run, the outcome of those migrations is
the tables of dj-stripe's last migration state. ``migrate_database`` migrates what dj-stripe
depends on as usual, creates dj-stripe's tables from its last migration state with the schema
editor (what each ``CreateModel`` does), records dj-stripe's migrations as applied, and then runs
the ordinary ``migrate`` for everything else. Nothing of dj-stripe is squashed or copied: a later
dj-stripe release's new migrations run on top as usual, and a database that already has any of
dj-stripe's migrations, or any of its tables, only ever gets the ordinary ``migrate``.
``scripts/tests/test_first_migrate.py`` checks that the schema is the same as the ordinary
``migrate``'s, column by column, constraint by constraint, index by index.
"""

from __future__ import annotations

import sys
import time

APP_LABEL = "djstripe"


def djstripe_tables_create(*, connection=None, stdout=sys.stdout) -> bool:
    """Build dj-stripe's schema in one step if the database has none of it; tell whether it did."""
    from django.db import DEFAULT_DB_ALIAS, connections, router
    from django.db.migrations.executor import MigrationExecutor

    connection = connection or connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    loader = executor.loader
    if any(app_label == APP_LABEL for app_label, _ in loader.applied_migrations):
        return False
    leaves = loader.graph.leaf_nodes(APP_LABEL)
    if len(leaves) != 1:
        return False  # conflicting dj-stripe migrations: leave it to migrate to say so
    plan = loader.graph.forwards_plan(leaves[0])
    state = loader.project_state(leaves[0], at_end=True)
    models = [
        model
        for model in state.apps.get_models()
        if model._meta.app_label == APP_LABEL and router.allow_migrate_model(connection.alias, model)
    ]
    existing = set(connection.introspection.table_names())
    if any(model._meta.db_table in existing for model in models):
        return False

    started = time.monotonic()
    # What dj-stripe builds on (the user model its customers point at), migrated as usual.
    executor.migrate([node for node in plan if node[0] != APP_LABEL])
    with connection.schema_editor(atomic=True) as editor:
        for model in models:
            editor.create_model(model)
        for node in plan:
            if node[0] == APP_LABEL:
                executor.recorder.record_applied(*node)
    names = ", ".join(name for app_label, name in plan if app_label == APP_LABEL)
    stdout.write(f"dj-stripe: created its {len(models)} tables as of {names} in {time.monotonic() - started:.1f} s\n")
    return True


def migrate_database(*, verbosity: int = 1, fast: bool = True, stdout=sys.stdout) -> None:
    from django.core.management import call_command

    if fast:
        djstripe_tables_create(stdout=stdout)
    call_command("migrate", interactive=False, verbosity=verbosity, skip_checks=True, stdout=stdout)
