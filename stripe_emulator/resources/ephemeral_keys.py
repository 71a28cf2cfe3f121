"""Ephemeral keys: short-lived keys a mobile SDK (PaymentSheet) uses to act for one customer."""

from .. import errors, ids
from ..router import route
from .customers import get_customer

LIFETIME = 3600  # Stripe's ephemeral keys live for an hour


@route("POST", r"/v1/ephemeral_keys")
def create(req):
    if not req.headers.get("stripe-version"):
        raise errors.invalid("Stripe-Version header is required to create an ephemeral key.")
    customer = get_customer(req, req.str("customer", required=True), param="customer")
    now = req.store.now()
    key = {
        "id": ids.new_id("ephemeral_key"),
        "object": "ephemeral_key",
        "associated_objects": [{"id": customer["id"], "type": "customer"}],
        "created": now,
        "expires": now + LIFETIME,
        "livemode": False,
        "secret": ids.ephemeral_secret(),
    }
    req.store.add("ephemeral_keys", key, req.account)
    return req.render(key)


@route("DELETE", r"/v1/ephemeral_keys/(?P<key_id>[^/]+)")
def delete(req, key_id):
    key = req.store.get("ephemeral_keys", key_id, req.account)
    key["expires"] = req.store.now()
    out = req.render(key)
    out.pop("secret", None)
    return out
