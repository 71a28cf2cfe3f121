"""Per-user statistics' indexes on ``payments_escrow`` (reporting's queries; created here, with their reason).

A user's statistics filter one user's escrows by a time range: a client's by ``funded_at``, a
tasker's by ``released_at``. With only the single-column indexes, PostgreSQL's generic plan for the
prepared query (``DATABASE_PREPARED_STATEMENTS``) does not know which user it is for and combines
the user's index with the whole range of ``reporting_escrow_released_at`` — every release of the
period on the platform (64 ms instead of 1.6 ms at a million escrows, measured). One index on
(user, time) serves any user and any period with the user's own rows only.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("reporting", "0002_reporting_indexes")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS reporting_escrow_tasker_released ON payments_escrow (tasker_id, released_at) "
            "WHERE released_at IS NOT NULL",
            "DROP INDEX IF EXISTS reporting_escrow_tasker_released",
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS reporting_escrow_client_funded ON payments_escrow (client_id, funded_at) "
            "WHERE funded_at IS NOT NULL",
            "DROP INDEX IF EXISTS reporting_escrow_client_funded",
        ),
    ]
