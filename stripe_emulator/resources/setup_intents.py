"""SetupIntents: save a card for later without charging it, with 3-D Secure for the cards that ask."""

from .. import errors, ids
from ..router import merge_metadata, route
from . import payment_methods
from .customers import get_customer

CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
USAGES = ("off_session", "on_session")


def _get(req, seti_id, param="intent"):
    return req.store.get("setup_intents", seti_id, req.account, param=param)


def _apply_params(req, seti):
    if "description" in req.params:
        seti["description"] = req.str("description")
    if "customer" in req.params:
        seti["customer"] = (
            get_customer(req, req.str("customer"), param="customer")["id"] if req.str("customer") else None
        )
    if "metadata" in req.params:
        merge_metadata(seti, req.params["metadata"])
    if req.str("payment_method"):
        pm = payment_methods.resolve(req, req.str("payment_method"))
        payment_methods.check_usable(pm, seti["customer"])
        seti["payment_method"] = pm["id"]
        if seti["status"] == "requires_payment_method":
            seti["status"] = "requires_confirmation"
    if req.str("return_url"):
        seti["_return_url"] = req.str("return_url")


@route("POST", r"/v1/setup_intents")
def create(req):
    usage = req.str("usage", default="off_session")
    if usage not in USAGES:
        raise errors.invalid("Invalid usage: must be one of off_session or on_session", param="usage")
    types = req.params.get("payment_method_types")
    types = types if isinstance(types, list) else ([types] if types else None)
    if types and set(types) - {"card"}:
        raise errors.invalid("Only card payment methods are supported by this emulator.", param="payment_method_types")
    seti_id = ids.new_id("setup_intent")
    seti = {
        "id": seti_id,
        "object": "setup_intent",
        "allowed_payment_method_types": None,
        "application": None,
        "attach_to_self": None,
        "automatic_payment_methods": None if types else {"allow_redirects": "always", "enabled": True},
        "cancellation_reason": None,
        "client_secret": ids.client_secret(seti_id),
        "created": req.store.now(),
        "customer": None,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "managed_payments": None,
        "mandate": None,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {"mandate_options": None, "network": None, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": usage,
        "_return_url": None,
    }
    _apply_params(req, seti)
    req.store.add("setup_intents", seti, req.account)
    req.store.emit("setup_intent.created", seti, account=req.account, req=req)
    if req.bool("confirm"):
        return _confirm(req, seti)
    return req.render(seti)


@route("POST", r"/v1/setup_intents/(?P<seti_id>[^/]+)/confirm")
def confirm(req, seti_id):
    seti = _get(req, seti_id)
    _apply_params(req, seti)
    return _confirm(req, seti)


def _confirm(req, seti):
    store = req.store
    if seti["status"] not in CONFIRMABLE:
        raise errors.unexpected_state(
            f"You cannot confirm this SetupIntent because it has a status of {seti['status']}. "
            "Only a SetupIntent with one of the following statuses may be confirmed: "
            "requires_confirmation, requires_payment_method, requires_action.",
            extra={"setup_intent": req.render(seti)},
        )
    if not seti["payment_method"]:
        raise errors.invalid(
            "You cannot confirm this SetupIntent because it's missing a payment method.",
            param="payment_method",
            code="setup_intent_unexpected_state",
        )
    pm = store.get("payment_methods", seti["payment_method"], req.account)
    behaviour = pm.get("_behaviour")
    seti["last_setup_error"] = None
    if isinstance(behaviour, list | tuple) and behaviour[0] == "decline":
        return _decline(req, seti, pm, behaviour[1])
    if behaviour == "3ds":
        seti["status"] = "requires_action"
        seti["next_action"] = {
            "type": "redirect_to_url",
            "redirect_to_url": {
                "return_url": seti["_return_url"],
                "url": f"{req.base_url}/emulator/3ds/{seti['id']}",
            },
        }
        store.emit("setup_intent.requires_action", seti, account=req.account, req=req)
        return req.render(seti)
    succeed(store, seti, req)
    return req.render(seti)


def _decline(req, seti, pm, decline_code):
    from .charges import DECLINE_MESSAGES

    message = DECLINE_MESSAGES.get(decline_code, "Your card was declined.")
    error = {
        "code": "card_declined",
        "decline_code": decline_code,
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": message,
        "payment_method": req.store.render(pm),
        "type": "card_error",
    }
    seti.update(status="requires_payment_method", payment_method=None, next_action=None, last_setup_error=error)
    req.store.emit("setup_intent.setup_failed", seti, account=req.account, req=req)
    raise errors.StripeError(
        message,
        type="card_error",
        status=402,
        code="card_declined",
        extra={"decline_code": decline_code, "setup_intent": req.render(seti), "payment_method": req.store.render(pm)},
    )


def succeed(store, seti, req=None):
    """The card is set up: attached to the SetupIntent's customer, if it has one."""
    account = seti["_account"]
    pm = store.get("payment_methods", seti["payment_method"], account)
    if seti["customer"] and pm["customer"] != seti["customer"]:
        pm["customer"] = seti["customer"]
        store.emit("payment_method.attached", pm, account=account, req=req)
    seti.update(status="succeeded", next_action=None, last_setup_error=None)
    store.emit("setup_intent.succeeded", seti, account=account, req=req)


def complete_authentication(store, seti, succeed_it, req=None):
    if seti["status"] != "requires_action":
        raise errors.unexpected_state(
            f"This SetupIntent's status is {seti['status']}; authentication is only possible in requires_action."
        )
    if succeed_it:
        succeed(store, seti, req)
        return seti
    pm = store.get("payment_methods", seti["payment_method"], seti["_account"])
    seti.update(
        status="requires_payment_method",
        next_action=None,
        payment_method=None,
        last_setup_error={
            "code": "setup_intent_authentication_failure",
            "doc_url": "https://stripe.com/docs/error-codes/setup-intent-authentication-failure",
            "message": ("The latest attempt to set up the payment method has failed because authentication failed."),
            "payment_method": store.render(pm),
            "type": "invalid_request_error",
        },
    )
    store.emit("setup_intent.setup_failed", seti, account=seti["_account"], req=req)
    return seti


@route("GET", r"/v1/setup_intents/(?P<seti_id>[^/]+)")
def retrieve(req, seti_id):
    seti = _get(req, seti_id)
    secret = req.str("client_secret")
    if secret and secret != seti["client_secret"]:
        raise errors.invalid(
            "The client_secret provided does not match the client_secret associated with the SetupIntent.",
            param="client_secret",
        )
    return req.render(seti)


@route("POST", r"/v1/setup_intents/(?P<seti_id>[^/]+)/cancel")
def cancel(req, seti_id):
    seti = _get(req, seti_id)
    if seti["status"] not in CANCELABLE:
        raise errors.unexpected_state(
            f"You cannot cancel this SetupIntent because it has a status of {seti['status']}.",
            extra={"setup_intent": req.render(seti)},
        )
    seti.update(status="canceled", cancellation_reason=req.str("cancellation_reason"), next_action=None)
    req.store.emit("setup_intent.canceled", seti, account=req.account, req=req)
    return req.render(seti)


@route("GET", r"/v1/setup_intents")
def list_setup_intents(req):
    customer = req.str("customer")
    return req.list("setup_intents", "/v1/setup_intents", lambda s: not customer or s["customer"] == customer)
