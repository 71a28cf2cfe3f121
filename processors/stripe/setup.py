"""Registering Holdfast with Stripe: dj-stripe's key and account rows, and the two webhook endpoints."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from processors.stripe import gateway as stripe_gateway

logger = logging.getLogger(__name__)

WEBHOOK_ROLES = {
    # role: (connect?, description, the Stripe CLI secret that overrides the endpoint's own)
    "platform": (False, "Holdfast platform events", "STRIPE_WEBHOOK_SECRET"),
    "connect": (True, "Holdfast Connect events", "STRIPE_CONNECT_WEBHOOK_SECRET"),
}


@dataclass(frozen=True)
class WebhookSetup:
    role: str
    url: str
    created: bool


@transaction.atomic
def stripe_setup(*, site_url: str | None = None) -> list[WebhookSetup]:
    """Make dj-stripe ready for the configured Stripe (emulator, test or live).

    Creates the ``APIKey`` and platform ``Account`` rows, then makes sure the two webhook
    endpoints (platform events and Connect events) exist at Stripe and in dj-stripe's table
    with their signing secrets. Idempotent: an endpoint that still exists is kept as it is.
    """
    from djstripe.models import WebhookEndpoint

    site_url = (site_url or settings.SITE_URL).rstrip("/")
    stripe_gateway.platform_account_sync()
    results = []
    for role, (connect, description, secret_setting) in WEBHOOK_ROLES.items():
        row = (
            WebhookEndpoint.objects.filter(metadata__holdfast_role=role, livemode=settings.STRIPE_LIVE_MODE)
            .order_by("-created")
            .first()
        )
        remote = stripe_gateway.webhook_endpoint_retrieve(row.id) if row else None
        created = False
        if remote is None or not remote["url"].startswith(site_url):
            endpoint_uuid = uuid.uuid4()
            url = site_url + reverse("stripe-webhook", kwargs={"uuid": endpoint_uuid})
            remote = stripe_gateway.webhook_endpoint_create(
                url=url,
                connect=connect,
                description=description,
                metadata={"djstripe_uuid": str(endpoint_uuid), "holdfast_role": role},
            )
            row = stripe_gateway.sync(remote)
            row.secret = remote["secret"]
            created = True
        cli_secret = getattr(settings, secret_setting, "")
        if cli_secret:  # forwarding with `stripe listen`: the CLI signs with its own secret
            row.secret = cli_secret
        row.save()
        results.append(WebhookSetup(role=role, url=row.url, created=created))
        logger.info("Stripe %s webhook endpoint %s: %s", role, "created" if created else "kept", row.url)
    return results
