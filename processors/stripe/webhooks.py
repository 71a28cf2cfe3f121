"""Stripe webhook entry point.

Stripe (or the emulator) posts to ``/stripe/webhook/<uuid>/``, one URL per registered endpoint
(platform events, Connect events). The signature is checked here first, against that endpoint's
secret with Stripe's 5-minute tolerance, so a forged, mis-signed or replayed-late request is
refused with 400 and leaves no row behind. A valid one is handed to dj-stripe, which stores the
event once (by its id) and fires the receivers in ``processors.stripe.handlers``.
"""

from __future__ import annotations

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
        return super().post(request, uuid)
