"""Card payment methods, including Stripe's magic test ids (`pm_card_visa`, ...)."""

from .. import errors, ids
from ..router import merge_metadata, route
from .customers import get_customer

# behaviour: None = approve, ("decline", decline_code), "3ds", "dispute"
TEST_CARDS = {
    "pm_card_visa": ("visa", "4242", None),
    "pm_card_mastercard": ("mastercard", "4444", None),
    "pm_card_amex": ("amex", "8431", None),
    "pm_card_chargeDeclined": ("visa", "0002", ("decline", "generic_decline")),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", ("decline", "insufficient_funds")),
    "pm_card_chargeDeclinedExpiredCard": ("visa", "0069", ("decline", "expired_card")),
    "pm_card_authenticationRequired": ("visa", "3184", "3ds"),
    "pm_card_threeDSecure2Required": ("visa", "3220", "3ds"),
    "pm_card_createDispute": ("visa", "0259", "dispute"),
}
CARD_NUMBERS = {
    "4242424242424242": "pm_card_visa",
    "5555555555554444": "pm_card_mastercard",
    "4000000000000002": "pm_card_chargeDeclined",
    "4000000000009995": "pm_card_chargeDeclinedInsufficientFunds",
    "4000002760003184": "pm_card_authenticationRequired",
    "4000000000000259": "pm_card_createDispute",
}
TOKENS = {
    "tok_visa": "pm_card_visa",
    "tok_mastercard": "pm_card_mastercard",
    "tok_chargeDeclined": "pm_card_chargeDeclined",
    "tok_chargeDeclinedInsufficientFunds": "pm_card_chargeDeclinedInsufficientFunds",
    "tok_createDispute": "pm_card_createDispute",
}
_OTHER_TYPES = [
    "acss_debit",
    "affirm",
    "afterpay_clearpay",
    "alipay",
    "alma",
    "amazon_pay",
    "au_becs_debit",
    "bacs_debit",
    "bancontact",
    "billie",
    "bizum",
    "blik",
    "boleto",
    "card_present",
    "cashapp",
    "crypto",
    "custom",
    "customer_balance",
    "eps",
    "fpx",
    "giropay",
    "grabpay",
    "ideal",
    "interac_present",
    "kakao_pay",
    "klarna",
    "konbini",
    "kr_card",
    "link",
    "mb_way",
    "mobilepay",
    "multibanco",
    "naver_pay",
    "nz_bank_account",
    "oxxo",
    "p24",
    "pay_by_bank",
    "payco",
    "paynow",
    "paypal",
    "payto",
    "pix",
    "promptpay",
    "revolut_pay",
    "samsung_pay",
    "satispay",
    "scalapay",
    "sepa_debit",
    "sofort",
    "sunbit",
    "swish",
    "twint",
    "upi",
    "us_bank_account",
    "wechat_pay",
    "zip",
]


def card_details(pm):
    return pm["card"]


def new_payment_method(store, test_id, account, billing_details=None):
    brand, last4, behaviour = TEST_CARDS[test_id]
    now = store.now()
    pm = dict.fromkeys(_OTHER_TYPES)
    pm.update(
        {
            "id": ids.new_id("payment_method"),
            "object": "payment_method",
            "allow_redirects": None,
            "allow_redisplay": "unspecified",
            "billing_details": {
                "address": {
                    "city": None,
                    "country": None,
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "email": None,
                "name": None,
                "phone": None,
                "tax_id": None,
                **(billing_details or {}),
            },
            "card": {
                "brand": brand,
                "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
                "country": "US",
                "display_brand": brand,
                "exp_month": 12,
                "exp_year": 2034,
                "fingerprint": ids.random_token(16),
                "funding": "credit",
                "generated_from": None,
                "last4": last4,
                "networks": {"available": [brand], "preferred": None},
                "regulated_status": "unregulated",
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
            "created": now,
            "customer": None,
            "customer_account": None,
            "livemode": False,
            "metadata": {},
            "radar_options": None,
            "type": "card",
            "_behaviour": behaviour,
        }
    )
    pm.pop("allow_redirects")
    return store.add("payment_methods", pm, account)


def check_usable(pm, customer):
    """Stripe's refusals for a payment method that cannot pay for ``customer`` (or for nobody)."""
    if pm.get("_detached"):
        raise errors.invalid(
            "The provided PaymentMethod was previously used without being attached to a Customer or was "
            "detached from a Customer, and may not be used again.",
            param="payment_method",
        )
    if pm["customer"] and pm["customer"] != customer:
        raise errors.invalid(
            f"The provided PaymentMethod belongs to a Customer ({pm['customer']}), but the intent is for "
            f"{customer or 'no Customer'}. Provide the Customer the PaymentMethod is attached to.",
            param="payment_method",
        )


def resolve(req, value, param="payment_method"):
    """Turn a test id into a fresh `pm_` object as Stripe does; otherwise look the id up."""
    if value in TEST_CARDS:
        return new_payment_method(req.store, value, req.account)
    return req.store.get("payment_methods", value, req.account, param=param)


@route("POST", r"/v1/payment_methods")
def create_payment_method(req):
    pm_type = req.str("type", required=True)
    if pm_type != "card":
        raise errors.invalid(f"The payment method type `{pm_type}` is not supported by this emulator.", param="type")
    card = req.dict("card")
    test_id = TOKENS.get(card.get("token")) or CARD_NUMBERS.get((card.get("number") or "").replace(" ", ""))
    if not test_id:
        raise errors.StripeError(
            "Your card number is incorrect.",
            type="card_error",
            status=402,
            code="incorrect_number",
            param="card[number]",
        )
    pm = new_payment_method(req.store, test_id, req.account, req.dict("billing_details"))
    merge_metadata(pm, req.params.get("metadata"))
    return req.render(pm)


@route("GET", r"/v1/payment_methods/(?P<pm_id>[^/]+)")
def retrieve_payment_method(req, pm_id):
    return req.render(resolve(req, pm_id, param="payment_method"))


@route("POST", r"/v1/payment_methods/(?P<pm_id>[^/]+)/attach")
def attach(req, pm_id):
    pm = resolve(req, pm_id)
    customer = get_customer(req, req.str("customer", required=True), param="customer")
    if pm.get("_detached") or (pm["customer"] and pm["customer"] != customer["id"]):
        check_usable(pm, customer["id"])
    pm["customer"] = customer["id"]
    req.store.emit("payment_method.attached", pm, account=req.account, req=req)
    return req.render(pm)


@route("POST", r"/v1/payment_methods/(?P<pm_id>[^/]+)/detach")
def detach(req, pm_id):
    pm = req.store.get("payment_methods", pm_id, req.account)
    if not pm["customer"]:
        raise errors.invalid(
            "The payment method you provided is not attached to a customer so detachment is impossible."
        )
    pm["customer"] = None
    pm["_detached"] = True  # Stripe: a detached payment method can never be used again
    req.store.emit("payment_method.detached", pm, account=req.account, req=req)
    return req.render(pm)


@route("GET", r"/v1/payment_methods")
def list_payment_methods(req):
    customer = req.str("customer")
    return req.list("payment_methods", "/v1/payment_methods", lambda p: not customer or p["customer"] == customer)


@route("GET", r"/v1/customers/(?P<cus_id>[^/]+)/payment_methods")
def list_customer_payment_methods(req, cus_id):
    get_customer(req, cus_id)
    return req.list("payment_methods", f"/v1/customers/{cus_id}/payment_methods", lambda p: p["customer"] == cus_id)


@route("GET", r"/v1/customers/(?P<cus_id>[^/]+)/payment_methods/(?P<pm_id>[^/]+)")
def retrieve_customer_payment_method(req, cus_id, pm_id):
    get_customer(req, cus_id)
    pm = req.store.get("payment_methods", pm_id, req.account, param="payment_method")
    if pm["customer"] != cus_id:
        raise errors.not_found("PaymentMethod", pm_id, param="payment_method")
    return req.render(pm)
