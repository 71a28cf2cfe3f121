"""``manage.py reconcile``: compare Holdfast's payouts and ledger with Stripe now (beat does it daily)."""

from django.core.management.base import BaseCommand

from payouts.services import payouts_reconcile


class Command(BaseCommand):
    help = "Compare every recent payout and the platform balance with Stripe; list the differences (changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=35, help="Payouts changed in this many days (default 35).")

    def handle(self, *args, days: int, **options):
        run = payouts_reconcile(days=days)
        for item in run.items.all():
            self.stdout.write(f"DIFFERENCE {item.get_kind_display()}: {item.message}")
        self.stdout.write(run.summary)
        if run.differences:
            raise SystemExit(1)
