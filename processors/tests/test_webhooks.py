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
