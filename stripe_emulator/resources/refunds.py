"""Refunds of captured charges (full, partial, several per charge)."""

from .. import errors, ids
from ..router import merge_metadata, route
from . import balance, charges

REASONS = ("duplicate", "fraudulent", "requested_by_customer")


@route("POST", r"/v1/refunds")
def create_refund(req):
    store = req.store
    if req.str("charge"):
        charge = store.get("charges", req.str("charge"), req.account, param="charge")
    elif req.str("payment_intent"):
        pi = store.get("payment_intents", req.str("payment_intent"), req.account, param="payment_intent")
        if pi["status"] != "succeeded" or not pi["latest_charge"]:
            raise errors.invalid(
                f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                param="payment_intent",
                code="charge_not_refundable",
            )
        charge = store.get("charges", pi["latest_charge"], req.account)
    else:
        raise errors.missing_param("charge")
    if not charge["captured"] or charge["status"] != "succeeded":
        raise errors.invalid(
            f"Charge {charge['id']} has not been captured and cannot be refunded.",
            param="charge",
            code="charge_not_refundable",
        )
    remaining = charges.refundable(charge)
    if remaining <= 0:
        raise errors.invalid(f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
    if charge["disputed"]:
        dispute = next((d for d in store.coll("disputes").values() if d["charge"] == charge["id"]), None)
        if dispute and dispute["status"] not in ("won", "warning_closed"):
            raise errors.invalid(
                f"Charge {charge['id']} has been charged back; cannot issue a refund.", code="charge_disputed"
            )
    amount = req.int("amount", default=remaining, minimum=1)
    if amount > remaining:
        raise errors.invalid(
            f"Refund amount (${amount / 100:.2f}) is greater than unrefunded amount on charge (${remaining / 100:.2f})",
            param="amount",
            code="amount_too_large",
        )
    reason = req.str("reason")
    if reason and reason not in REASONS:
        raise errors.invalid(
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", param="reason"
        )
    refund = {
        "id": ids.new_id("refund"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": store.now(),
        "currency": charge["currency"],
        "customer": charge["customer"],
        "customer_account": None,
        "description": None,
        "destination_details": {
            "card": {
                "reference": None,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "failure_balance_transaction": None,
        "failure_reason": None,
        "instructions_email": None,
        "metadata": {},
        "next_action": None,
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "pending_reason": None,
        "presentment_details": None,
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    merge_metadata(refund, req.params.get("metadata"))
    txn = balance.add_txn(
        store, req.account, -amount, charge["currency"], "refund", refund["id"], description="REFUND FOR CHARGE"
    )
    refund["balance_transaction"] = txn["id"]
    store.add("refunds", refund, req.account)
    charge["_refunds_total"] = charge.get("_refunds_total", 0) + amount
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    store.emit("refund.created", refund, account=req.account, req=req)
    store.emit(
        "charge.refunded",
        charge,
        account=req.account,
        req=req,
        previous_attributes={"amount_refunded": charge["amount_refunded"] - amount},
    )
    return req.render(refund)


@route("GET", r"/v1/refunds/(?P<re_id>[^/]+)")
def retrieve_refund(req, re_id):
    return req.render(req.store.get("refunds", re_id, req.account))


@route("POST", r"/v1/refunds/(?P<re_id>[^/]+)")
def update_refund(req, re_id):
    refund = req.store.get("refunds", re_id, req.account)
    merge_metadata(refund, req.params.get("metadata"))
    req.store.emit("refund.updated", refund, account=req.account, req=req)
    return req.render(refund)


@route("GET", r"/v1/refunds")
def list_refunds(req):
    charge, pi = req.str("charge"), req.str("payment_intent")
    return req.list(
        "refunds",
        "/v1/refunds",
        lambda r: (not charge or r["charge"] == charge) and (not pi or r["payment_intent"] == pi),
    )
