"""PaymentIntents: the state machine, card outcomes, 3-D Secure and manual capture."""

from .. import errors, ids
from ..router import merge_metadata, route
from . import charges, disputes, payment_methods
from .customers import get_customer

CAPTURE_METHODS = ("automatic", "automatic_async", "manual")
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing")
AUTH_FAILURE_MESSAGE = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a "
    "new PaymentMethod to attempt to fulfill this PaymentIntent again."
)


def _get(req, pi_id, param="intent"):
    return req.store.get("payment_intents", pi_id, req.account, param=param)


def _apply_params(req, pi):
    for field in (
        "description",
        "transfer_group",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "setup_future_usage",
    ):
        if field in req.params:
            pi[field] = req.str(field)
    if "customer" in req.params:
        pi["customer"] = get_customer(req, req.str("customer"), param="customer")["id"] if req.str("customer") else None
    if "metadata" in req.params:
        merge_metadata(pi, req.params["metadata"])
    if req.str("payment_method"):
        pm = payment_methods.resolve(req, req.str("payment_method"))
        payment_methods.check_usable(pm, pi["customer"])
        pi["payment_method"] = pm["id"]
        if pi["status"] == "requires_payment_method":
            pi["status"] = "requires_confirmation"
    if req.str("return_url"):
        pi["_return_url"] = req.str("return_url")


@route("POST", r"/v1/payment_intents")
def create(req):
    amount = req.int("amount", required=True, minimum=1)
    if amount < 50:
        raise errors.invalid("Amount must be at least $0.50 usd", param="amount", code="amount_too_small")
    currency = req.currency()
    capture_method = req.str("capture_method", default="automatic_async")
    if capture_method not in CAPTURE_METHODS:
        raise errors.invalid(
            "Invalid capture_method: must be one of automatic, automatic_async, or manual", param="capture_method"
        )
    apm = req.dict("automatic_payment_methods")
    types = req.params.get("payment_method_types")
    if types and apm:
        raise errors.invalid(
            "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
            param="automatic_payment_methods",
        )
    types = types if isinstance(types, list) else ([types] if types else None)
    if types and set(types) - {"card"}:
        raise errors.invalid("Only card payment methods are supported by this emulator.", param="payment_method_types")
    pi_id = ids.new_id("payment_intent")
    pi = {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "allowed_payment_method_types": None,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None
        if types
        else {"allow_redirects": apm.get("allow_redirects", "always"), "enabled": True},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": capture_method,
        "client_secret": ids.client_secret(pi_id),
        "confirmation_method": "automatic",
        "created": req.store.now(),
        "currency": currency,
        "customer": None,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "hooks": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_details": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "presentment_details": None,
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
        "_return_url": None,
    }
    _apply_params(req, pi)
    req.store.add("payment_intents", pi, req.account)
    req.store.emit("payment_intent.created", pi, account=req.account, req=req)
    if req.bool("confirm"):
        return _confirm(req, pi)
    return req.render(pi)


@route("POST", r"/v1/payment_intents/(?P<pi_id>[^/]+)")
def update(req, pi_id):
    pi = _get(req, pi_id)
    if pi["status"] in ("succeeded", "canceled", "processing"):
        raise errors.unexpected_state(f"This PaymentIntent's status is {pi['status']}, so it cannot be updated.")
    if "amount" in req.params:
        if pi["status"] == "requires_capture":
            raise errors.unexpected_state("You cannot update the amount of a PaymentIntent that requires capture.")
        pi["amount"] = req.int("amount", minimum=50)
    if "currency" in req.params:
        pi["currency"] = req.currency()
    _apply_params(req, pi)
    return req.render(pi)


@route("POST", r"/v1/payment_intents/(?P<pi_id>[^/]+)/confirm")
def confirm(req, pi_id):
    pi = _get(req, pi_id)
    _apply_params(req, pi)
    return _confirm(req, pi)


def _confirm(req, pi):
    store = req.store
    if pi["status"] not in CONFIRMABLE:
        raise errors.unexpected_state(
            f"You cannot confirm this PaymentIntent because it has a status of {pi['status']}. "
            "Only a PaymentIntent with one of the following statuses may be confirmed: "
            "requires_confirmation, requires_payment_method, requires_action.",
            extra={"payment_intent": req.render(pi)},
        )
    if not pi["payment_method"]:
        raise errors.invalid(
            "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the "
            "PaymentIntent with cus_xxx, specify a payment method attached to this customer along with "
            "the customer ID.",
            param="payment_method",
            code="payment_intent_unexpected_state",
        )
    pm = store.get("payment_methods", pi["payment_method"], req.account)
    behaviour = pm.get("_behaviour")
    pi["last_payment_error"] = None
    if isinstance(behaviour, list | tuple) and behaviour[0] == "decline":
        return _decline(req, pi, pm, behaviour[1])
    if behaviour == "3ds":
        pi["status"] = "requires_action"
        pi["next_action"] = {
            "type": "redirect_to_url",
            "redirect_to_url": {"return_url": pi["_return_url"], "url": f"{req.base_url}/emulator/3ds/{pi['id']}"},
        }
        store.emit("payment_intent.requires_action", pi, account=req.account, req=req)
        return req.render(pi)
    authorize(store, pi, pm, req)
    return req.render(pi)


def _decline(req, pi, pm, decline_code):
    store = req.store
    charge = charges.new_charge(store, pi, pm, req.account, declined=decline_code)
    message = charges.DECLINE_MESSAGES.get(decline_code, "Your card was declined.")
    error = {
        "charge": charge["id"],
        "code": "card_declined",
        "decline_code": decline_code,
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": message,
        "payment_method": store.render(pm),
        "type": "card_error",
    }
    pi.update(
        status="requires_payment_method",
        latest_charge=charge["id"],
        payment_method=None,
        next_action=None,
        last_payment_error=error,
    )
    store.emit("charge.failed", charge, account=req.account, req=req)
    store.emit("payment_intent.payment_failed", pi, account=req.account, req=req)
    raise errors.StripeError(
        message,
        type="card_error",
        status=402,
        code="card_declined",
        extra={
            "decline_code": decline_code,
            "charge": charge["id"],
            "payment_intent": req.render(pi),
            "payment_method": store.render(pm),
        },
    )


def authorize(store, pi, pm, req=None):
    """A successful authorization: charge, then capture now or hold for manual capture."""
    account = pi["_account"]
    charge = charges.new_charge(store, pi, pm, account)
    pi.update(latest_charge=charge["id"], next_action=None, last_payment_error=None)
    if pi["capture_method"] == "manual":
        pi.update(status="requires_capture", amount_capturable=pi["amount"])
        store.emit("charge.succeeded", charge, account=account, req=req)
        store.emit("payment_intent.amount_capturable_updated", pi, account=account, req=req)
        return
    _save_for_future(store, pi, pm, account, req)
    charges.capture_charge(store, charge, pi["amount"])
    pi.update(status="succeeded", amount_received=pi["amount"])
    store.emit("charge.succeeded", charge, account=account, req=req)
    store.emit("payment_intent.succeeded", pi, account=account, req=req)
    if charge["_behaviour"] == "dispute":
        disputes.open_dispute(store, charge, req)


def _save_for_future(store, pi, pm, account, req):
    """``setup_future_usage`` with a customer: a successful payment attaches the card to them."""
    if pi.get("setup_future_usage") and pi.get("customer") and pm["customer"] != pi["customer"]:
        pm["customer"] = pi["customer"]
        store.emit("payment_method.attached", pm, account=account, req=req)


def fail_authentication(store, pi, req=None):
    pm = store.get("payment_methods", pi["payment_method"], pi["_account"])
    pi.update(
        status="requires_payment_method",
        next_action=None,
        payment_method=None,
        last_payment_error={
            "code": "payment_intent_authentication_failure",
            "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
            "message": AUTH_FAILURE_MESSAGE,
            "payment_method": store.render(pm),
            "type": "invalid_request_error",
        },
    )
    store.emit("payment_intent.payment_failed", pi, account=pi["_account"], req=req)


def complete_authentication(store, pi, succeed, req=None):
    if pi["status"] != "requires_action":
        raise errors.unexpected_state(
            f"This PaymentIntent's status is {pi['status']}; authentication is only possible in requires_action."
        )
    if succeed:
        authorize(store, pi, store.get("payment_methods", pi["payment_method"], pi["_account"]), req)
    else:
        fail_authentication(store, pi, req)
    return pi


@route("POST", r"/v1/payment_intents/(?P<pi_id>[^/]+)/capture")
def capture(req, pi_id):
    pi = _get(req, pi_id)
    if pi["status"] != "requires_capture":
        raise errors.unexpected_state(
            f"This PaymentIntent could not be captured because it has a status of {pi['status']}. "
            "Only a PaymentIntent with one of the following statuses may be captured: requires_capture.",
            extra={"payment_intent": req.render(pi)},
        )
    amount = req.int("amount_to_capture", default=pi["amount_capturable"], minimum=0)
    if amount > pi["amount_capturable"]:
        raise errors.invalid(
            "The amount_to_capture must be less than or equal to the amount_capturable.",
            param="amount_to_capture",
            code="amount_too_large",
        )
    if "metadata" in req.params:
        merge_metadata(pi, req.params["metadata"])
    charge = req.store.get("charges", pi["latest_charge"], req.account)
    charges.capture_charge(req.store, charge, amount)
    pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
    req.store.emit("charge.captured", charge, account=req.account, req=req)
    req.store.emit("payment_intent.succeeded", pi, account=req.account, req=req)
    if charge["_behaviour"] == "dispute":
        disputes.open_dispute(req.store, charge, req)
    return req.render(pi)


@route("POST", r"/v1/payment_intents/(?P<pi_id>[^/]+)/cancel")
def cancel(req, pi_id):
    pi = _get(req, pi_id)
    if pi["status"] not in CANCELABLE:
        raise errors.unexpected_state(
            f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. Only a "
            "PaymentIntent with one of the following statuses may be canceled: requires_payment_method, "
            "requires_capture, requires_confirmation, requires_action, processing.",
            extra={"payment_intent": req.render(pi)},
        )
    reason = req.str("cancellation_reason")
    if reason and reason not in ("duplicate", "fraudulent", "requested_by_customer", "abandoned"):
        raise errors.invalid("Invalid cancellation_reason", param="cancellation_reason")
    if pi["status"] == "requires_capture":
        charge = req.store.get("charges", pi["latest_charge"], req.account)
        charge.update(amount_refunded=charge["amount"], refunded=True)
        req.store.emit("charge.refunded", charge, account=req.account, req=req)
    pi.update(
        status="canceled",
        canceled_at=req.store.now(),
        cancellation_reason=reason,
        amount_capturable=0,
        next_action=None,
    )
    req.store.emit("payment_intent.canceled", pi, account=req.account, req=req)
    return req.render(pi)


@route("GET", r"/v1/payment_intents/(?P<pi_id>[^/]+)")
def retrieve(req, pi_id):
    pi = _get(req, pi_id)
    secret = req.str("client_secret")
    if secret and secret != pi["client_secret"]:
        raise errors.invalid(
            "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
            param="client_secret",
        )
    return req.render(pi)


@route("GET", r"/v1/payment_intents")
def list_payment_intents(req):
    customer = req.str("customer")
    return req.list("payment_intents", "/v1/payment_intents", lambda p: not customer or p["customer"] == customer)
