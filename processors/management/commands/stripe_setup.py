from django.core.management.base import BaseCommand

from processors.stripe.setup import stripe_setup


class Command(BaseCommand):
    help = (
        "Register Holdfast with the configured Stripe (emulator, test or live): dj-stripe's API key and "
        "platform account rows, and the platform and Connect webhook endpoints with their secrets. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site-url", help="Public base URL Stripe sends webhooks to (default: HOLDFAST_SITE_URL).")

    def handle(self, *args, site_url=None, **options):
        for result in stripe_setup(site_url=site_url):
            verb = "created" if result.created else "ready"
            self.stdout.write(self.style.SUCCESS(f"{result.role} webhook endpoint {verb}: {result.url}"))
