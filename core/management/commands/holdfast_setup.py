"""Prepare a development database: staff groups and demo data. Safe to run any number of times."""

from django.core.management.base import BaseCommand

from core.demo import demo_data_load


class Command(BaseCommand):
    help = "Create the staff groups and the demo users, tasks and offers (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--no-demo", action="store_true", help="Only the staff groups, no demo data.")

    def handle(self, *args, no_demo: bool = False, **options):
        from accounts.roles import staff_groups_sync

        staff_groups_sync()
        if not no_demo:
            summary = demo_data_load()
            self.stdout.write(self.style.SUCCESS(f"Demo data ready: {summary}"))
