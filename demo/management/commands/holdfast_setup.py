"""Prepare a development database: staff groups, Stripe registration and demo data. Idempotent."""

from django.core.management.base import BaseCommand

from demo.data import demo_data_load


class Command(BaseCommand):
    help = "Create the staff groups, register with Stripe (or the emulator) and load the demo data. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--no-demo", action="store_true", help="Only the staff groups and Stripe, no demo data.")
        parser.add_argument("--no-stripe", action="store_true", help="Skip the Stripe registration.")

    def handle(self, *args, no_demo: bool = False, no_stripe: bool = False, **options):
        from accounts.roles import staff_groups_sync
        from processors.interface import PaymentError
        from processors.stripe.setup import stripe_setup

        staff_groups_sync()
        if not no_stripe:
            try:
                for result in stripe_setup():
                    self.stdout.write(f"Stripe {result.role} webhooks: {result.url}")
            except PaymentError as exc:
                self.stderr.write(self.style.WARNING(f"Stripe is not reachable, skipped its set-up: {exc.message}"))
        if not no_demo:
            summary = demo_data_load()
            self.stdout.write(self.style.SUCCESS(f"Demo data ready: {summary}"))
