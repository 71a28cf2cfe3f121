"""Two indexes on other apps' tables that only reporting's queries need (kept here, with their reason).

- ``wallets_posting (created_at)``, BRIN: the revenue dashboard sums the postings made since the
  last roll-up refresh (``wallets.selectors.ledger_flows``). Postings are appended in time order,
  so a block-range index finds the newest ones reading a few pages, and costs the ledger's insert
  path almost nothing (no B-tree to keep in order; a few kB for millions of rows).
- ``payments_escrow (released_at)``, partial B-tree: the roll-up splits fee revenue into client
  fees and commissions from the escrows released in a window (``escrow_client_fees_kept``).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_initial"),
        ("wallets", "0002_ledger_database_rules"),
        ("payments", "0007_escrowrefund_for_ruling"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS reporting_posting_created_brin ON wallets_posting "
            "USING brin (created_at) WITH (pages_per_range = 16)",
            "DROP INDEX IF EXISTS reporting_posting_created_brin",
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS reporting_escrow_released_at ON payments_escrow (released_at) "
            "WHERE released_at IS NOT NULL",
            "DROP INDEX IF EXISTS reporting_escrow_released_at",
        ),
    ]
