"""Mirroring into dj-stripe (objects, webhook events, the platform account) and webhook endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe
from django.conf import settings

from processors.interface import PaymentError
from processors.keys import idempotency_key
from processors.stripe.gateway import StripeObject, _call, _opts, configure


def sync(obj: StripeObject) -> Any:
    """Mirror a Stripe object into its dj-stripe model (by its ``object`` type) and return the row."""
    from djstripe import models as djstripe_models

    model = {
        "account": djstripe_models.Account,
        "payment_intent": djstripe_models.PaymentIntent,
        "charge": djstripe_models.Charge,
        "refund": djstripe_models.Refund,
        "transfer": djstripe_models.Transfer,
        "payout": djstripe_models.Payout,
        "dispute": djstripe_models.Dispute,
        "balance_transaction": djstripe_models.BalanceTransaction,
        "customer": djstripe_models.Customer,
        "webhook_endpoint": djstripe_models.WebhookEndpoint,
    }[obj["object"]]
    configure()
    kwargs: dict[str, Any] = {"api_key": settings.STRIPE_SECRET_KEY}
    if obj.get("object") == "payout" and getattr(obj, "stripe_account", None):
        kwargs["stripe_account"] = obj.stripe_account
    return model.sync_from_stripe_data(obj, **kwargs)


def event_mirror(*, payload: Mapping[str, Any], endpoint_uuid: str) -> Any:
    """Store a webhook event in dj-stripe and let dj-stripe's handlers mirror its object (they read
    it from Stripe). Runs in the webhook's Celery task, never in the request. Stripe's errors come
    back as the app's: an object Stripe no longer has is ``PaymentError(code="stripe_resource_missing")``."""
    from djstripe.models import Event, WebhookEndpoint
    from djstripe.settings import djstripe_settings

    configure()
    endpoint = (
        WebhookEndpoint.objects.select_related("djstripe_owner_account").filter(djstripe_uuid=endpoint_uuid).first()
    )
    owner = endpoint.djstripe_owner_account if endpoint else None
    api_key = (owner.default_api_key if owner else None) or djstripe_settings.get_default_api_key(
        bool(payload.get("livemode"))
    )
    return _call(Event.process, dict(payload), api_key=api_key)


def platform_account_sync() -> Any:
    """Create or refresh dj-stripe's ``APIKey`` and platform ``Account`` rows for the configured key."""
    from djstripe.models import APIKey

    def _sync() -> Any:
        api_key, _ = APIKey.objects.get_or_create_by_api_key(settings.STRIPE_SECRET_KEY)
        # Always re-read: the key may now belong to another account (a reset emulator, a new
        # Stripe account), and dj-stripe scopes its calls with the stored account's id.
        api_key.refresh_account()
        return api_key.djstripe_owner_account

    configure()
    return _call(_sync)


# --- Webhooks --------------------------------------------------------------------------------


def webhook_endpoint_create(*, url: str, connect: bool, description: str, metadata: Mapping[str, str]) -> StripeObject:
    return _call(
        stripe.WebhookEndpoint.create,
        url=url,
        connect=connect,
        enabled_events=["*"],
        description=description,
        metadata=dict(metadata),
        api_version=settings.STRIPE_API_VERSION,
        **_opts(idempotency_key=idempotency_key("webhook-endpoint", url)),
    )


def webhook_endpoint_retrieve(endpoint_id: str) -> StripeObject | None:
    try:
        return _call(stripe.WebhookEndpoint.retrieve, endpoint_id, **_opts())
    except PaymentError as exc:
        if exc.code == "stripe_resource_missing":
            return None
        raise


def event_verify(*, payload: bytes, signature: str, secret: str, tolerance: int = 300) -> None:
    """Raise ``SignatureVerificationError`` unless ``signature`` signs ``payload`` with ``secret``."""
    stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, secret, tolerance)
