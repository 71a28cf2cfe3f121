"""Charges: created by PaymentIntent confirmation, read-only over the API."""

from .. import ids
from ..router import route
from ..store import render_hook
from . import balance

DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
}


def new_charge(store, pi, pm, account, declined=None):
    card = pm["card"]
    outcome = {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network",
        "reason": None,
        "risk_level": "normal",
        "risk_score": 20,
        "seller_message": "Payment complete.",
        "type": "authorized",
    }
    if declined:
        outcome.update(
            network_status="declined_by_network",
            reason=declined,
            type="issuer_declined",
            seller_message="The bank did not return any further details with this decline.",
        )
        if declined == "insufficient_funds":
            outcome["seller_message"] = "The bank declined the payment due to insufficient funds."
    charge = {
        "id": ids.new_id("charge"),
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "authorization_code": None if declined else "123456",
        "balance_transaction": None,
        "billing_details": pm["billing_details"],
        "calculated_statement_descriptor": "EMULATOR",
        "captured": False,
        "created": store.now(),
        "currency": pi["currency"],
        "customer": pi["customer"],
        "description": pi["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": "card_declined" if declined else None,
        "failure_message": DECLINE_MESSAGES.get(declined, "Your card was declined.") if declined else None,
        "fraud_details": {},
        "level3": None,
        "livemode": False,
        "metadata": dict(pi["metadata"]),
        "on_behalf_of": None,
        "outcome": outcome,
        "paid": not declined,
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": {
            "card": {
                "amount_authorized": None if declined else pi["amount"],
                "brand": card["brand"],
                "checks": card["checks"],
                "country": card["country"],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "fingerprint": card["fingerprint"],
                "funding": card["funding"],
                "installments": None,
                "last4": card["last4"],
                "mandate": None,
                "network": card["brand"],
                "three_d_secure": None,
                "wallet": None,
            },
            "type": "card",
        },
        "presentment_details": None,
        "radar_options": None,
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": None,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "failed" if declined else "succeeded",
        "transfer": None,
        "transfer_data": None,
        "transfer_group": pi["transfer_group"],
        "_behaviour": pm.get("_behaviour"),
    }
    return store.add("charges", charge, account)


def capture_charge(store, charge, amount):
    charge["captured"] = True
    charge["amount_captured"] = amount
    # Stripe releases the uncaptured remainder, which shows up as refunded.
    charge["amount_refunded"] = charge["amount"] - amount
    charge["refunded"] = amount == 0
    txn = balance.add_txn(
        store,
        charge["_account"],
        amount,
        charge["currency"],
        "charge",
        charge["id"],
        fee=balance.stripe_fee(amount),
        available_on=store.now() + balance.AVAILABILITY_DELAY,
        description=charge["description"],
    )
    charge["balance_transaction"] = txn["id"]
    return txn


def refundable(charge):
    return charge["amount_captured"] - charge.get("_refunds_total", 0)


@render_hook("charge")
def _render_charge(store, obj, out):
    refunds = sorted(
        (r for r in store.coll("refunds").values() if r["charge"] == obj["id"]), key=lambda r: r["_seq"], reverse=True
    )
    out["refunds"] = {
        "object": "list",
        "data": [store.render(r) for r in refunds],
        "has_more": False,
        "total_count": len(refunds),
        "url": f"/v1/charges/{obj['id']}/refunds",
    }


@route("GET", r"/v1/charges/(?P<ch_id>[^/]+)")
def retrieve_charge(req, ch_id):
    return req.render(req.store.get("charges", ch_id, req.account))


@route("GET", r"/v1/charges")
def list_charges(req):
    params = req.params

    def keep(c):
        return all(
            [
                not params.get("payment_intent") or c["payment_intent"] == params["payment_intent"],
                not params.get("customer") or c["customer"] == params["customer"],
                not params.get("transfer_group") or c["transfer_group"] == params["transfer_group"],
            ]
        )

    return req.list("charges", "/v1/charges", keep)
