"""Stripe webhook entry point: verify, store once, queue. Nothing else happens in the request.

Stripe (or the emulator) posts to ``/stripe/webhook/<uuid>/``, one URL per registered endpoint
(platform events, Connect events). The signature is checked first, against that endpoint's
secret with Stripe's 5-minute tolerance, so a forged, mis-signed or replayed-late request is
refused with 400 and leaves no row behind; so is a signed body that is not a Stripe event (not
JSON, not an object, or without an event's ``id``, ``type`` and ``livemode``).

A valid event is stored in one statement (``processors.WebhookEvent``, unique by its id; a second
delivery of it only counts the delivery) and ``processors.tasks.stripe_event_process`` is queued.
Every read from Stripe, Holdfast's own handling and dj-stripe's mirror of the event's object
happen in Celery, so the answer does not wait on Stripe and a slow or missing object cannot turn
into a 5xx that Stripe would retry for days. A delivery of an event that is stored
but not processed yet (its message was lost with a broker that went away, say) queues it again;
the handlers are idempotent, so the event still has one effect.
"""

from __future__ import annotations

import json
import logging
import threading

from django.db import DataError, connection, transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from djstripe.models import WebhookEndpoint

from processors.stripe import gateway as stripe_gateway
from processors.stripe.adapter import NAME

logger = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300

# Endpoint uuid -> its signing secret. Read from the database once per process; a signature that
# fails against a remembered secret is checked again against a fresh read (the secret may have
# been rolled), so a stale entry costs one query, never a refused event.
_secrets: dict[str, str] = {}
_secrets_lock = threading.Lock()

_STORE_SQL = """
INSERT INTO processors_webhookevent
    (processor, event_id, type, account, endpoint, payload, received_at, deliveries, processed_at, mirrored_at,
     outcome)
VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, 1, NULL, NULL, '')
ON CONFLICT (processor, event_id) DO UPDATE SET deliveries = processors_webhookevent.deliveries + 1
RETURNING (xmax = 0), processed_at IS NOT NULL
"""


def _endpoint_secret(uuid: str, *, fresh: bool = False) -> str:
    if not fresh:
        secret = _secrets.get(uuid)
        if secret is not None:
            return secret
    secret = WebhookEndpoint.objects.filter(djstripe_uuid=uuid).values_list("secret", flat=True).first()
    if secret is None:
        with _secrets_lock:
            _secrets.pop(uuid, None)
        raise Http404("No such webhook endpoint.")
    with _secrets_lock:
        _secrets[uuid] = secret
    return secret


def _verified(body: bytes, signature: str, secret: str) -> bool:
    try:
        stripe_gateway.event_verify(
            payload=body, signature=signature, secret=secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except (stripe_gateway.SignatureVerificationError, ValueError):
        return False
    return True


def _event(body: bytes) -> dict | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or not all(key in payload for key in ("id", "type", "livemode")):
        return None
    if not isinstance(payload["id"], str) or not payload["id"] or not isinstance(payload["type"], str):
        return None
    return payload


def webhook_event_store(*, payload: dict, body: str, endpoint: str) -> tuple[bool, bool]:
    """Store a verified event once: ``(new, processed)``. One INSERT … ON CONFLICT statement."""
    account = payload.get("account")
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_SQL,
            [
                NAME,
                payload["id"],
                payload["type"],
                account if isinstance(account, str) else "",
                endpoint,
                body,
                timezone.now(),
            ],
        )
        new, processed = cursor.fetchone()
    return new, processed


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class StripeWebhookView(View):
    http_method_names = ["post"]

    def post(self, request, uuid):
        uuid = str(uuid)
        signature = request.headers.get("Stripe-Signature", "")
        body = request.body
        if not _verified(body, signature, _endpoint_secret(uuid)) and not _verified(
            body, signature, _endpoint_secret(uuid, fresh=True)
        ):
            logger.warning("Refused a webhook with a bad signature on endpoint %s", uuid)
            return HttpResponseBadRequest("Invalid signature.")
        payload = _event(body)
        if payload is None:
            logger.warning("Refused a signed webhook on endpoint %s whose body is not a Stripe event", uuid)
            return HttpResponseBadRequest("The body is not a Stripe event.")
        try:
            new, processed = webhook_event_store(payload=payload, body=body.decode("utf-8"), endpoint=uuid)
        except DataError:  # JSON that PostgreSQL cannot store (a NUL character in a string)
            logger.warning("Refused a signed webhook on endpoint %s that cannot be stored", uuid)
            return HttpResponseBadRequest("The body is not a Stripe event.")
        if new or not processed:
            from processors.tasks import stripe_event_process

            event_id = payload["id"]
            transaction.on_commit(lambda: stripe_event_process.delay(event_id))
        return HttpResponse("Received." if new else "Received already.", content_type="text/plain")
