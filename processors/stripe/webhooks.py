"""Stripe webhook entry point.

Stripe (or the emulator) posts to ``/stripe/webhook/<uuid>/``, one URL per registered endpoint
(platform events, Connect events). The signature is checked here first, against that endpoint's
secret with Stripe's 5-minute tolerance, so a forged, mis-signed or replayed-late request is
refused with 400 and leaves no row behind; so is a signed body that is not a Stripe event (not
JSON, not an object, or without an event's ``id``, ``type`` and ``livemode``). A valid one is
handed to dj-stripe, which stores the event once (by its id) and fires the receivers in
``processors.stripe.handlers``.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from djstripe.models import WebhookEndpoint
from djstripe.views import ProcessWebhookView

from processors.stripe import gateway as stripe_gateway

logger = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300


@method_decorator(csrf_exempt, name="dispatch")
class StripeWebhookView(ProcessWebhookView):
    def post(self, request, uuid):
        endpoint = get_object_or_404(WebhookEndpoint, djstripe_uuid=uuid)
        signature = request.headers.get("Stripe-Signature", "")
        try:
            stripe_gateway.event_verify(
                payload=request.body, signature=signature, secret=endpoint.secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
            )
        except (stripe_gateway.SignatureVerificationError, ValueError) as exc:
            logger.warning("Refused a webhook with a bad signature on %s: %s", endpoint.url, exc)
            return HttpResponseBadRequest("Invalid signature.")
        if not _is_event(request.body):
            # dj-stripe would store a trigger row for it on every delivery before finding it invalid.
            logger.warning("Refused a signed webhook on %s whose body is not a Stripe event", endpoint.url)
            return HttpResponseBadRequest("The body is not a Stripe event.")
        return super().post(request, uuid)


def _is_event(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return isinstance(payload, dict) and all(key in payload for key in ("id", "type", "livemode"))
