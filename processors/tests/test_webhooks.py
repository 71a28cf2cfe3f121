"""The webhook endpoint: a signed body that is not a Stripe event is refused and stores nothing."""

import hashlib
import hmac
import time

import pytest
from djstripe.models import Event, WebhookEndpoint, WebhookEventTrigger

from processors.stripe.setup import stripe_setup


@pytest.fixture
def platform_endpoint(db, stripe_emulator):
    stripe_setup(site_url="http://testserver")
    return WebhookEndpoint.objects.get(metadata__holdfast_role="platform")


def _post_signed_body(client, endpoint, body: str):
    timestamp = int(time.time())
    mac = hmac.new(endpoint.secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        f"/stripe/webhook/{endpoint.djstripe_uuid}/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={mac}",
    )


@pytest.mark.parametrize(
    "body",
    ['{"id": "evt_1", "type":', "[]", '[{"id": "evt_1"}]', "", "null", "42", '"evt_1"', "{}"],
    ids=["bad_json", "empty_array", "array", "empty", "null", "number", "string", "object_without_event_fields"],
)
def test_signed_body_that_is_not_an_event_is_refused_and_stores_nothing(client, platform_endpoint, body):
    response = _post_signed_body(client, platform_endpoint, body)
    assert response.status_code == 400
    assert WebhookEventTrigger.objects.count() == 0
    assert Event.objects.count() == 0


def test_a_signed_event_for_a_payment_stripe_does_not_know_is_logged_once_and_finishes(
    client, platform_endpoint, caplog, django_capture_on_commit_callbacks
):
    """Stripe answers 404 for the PaymentIntent: no money moves, the task ends (no retry, no
    traceback), and one warning says why."""
    import json

    from payments.models import Escrow

    body = json.dumps(
        {
            "id": "evt_unknown_pi",
            "object": "event",
            "type": "payment_intent.succeeded",
            "livemode": False,
            "created": int(time.time()),
            "api_version": "2026-08-26.dahlia",
            "data": {"object": {"id": "pi_nobody_knows", "object": "payment_intent", "metadata": {}}},
        }
    )
    caplog.set_level("WARNING")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_signed_body(client, platform_endpoint, body)

    assert response.status_code == 200
    warnings = [r for r in caplog.records if r.name == "processors.tasks"]
    assert [r.levelname for r in warnings] == ["WARNING"]
    assert not any(r.exc_info for r in caplog.records if r.levelname in ("WARNING", "ERROR"))
    assert Escrow.objects.filter(funded_at__isnull=False).count() == 0
