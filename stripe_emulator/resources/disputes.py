"""Disputes opened on charges paid with `pm_card_createDispute`, resolved by evidence."""

from .. import errors, ids
from ..router import merge_metadata, route
from ..store import render_hook
from . import balance

DISPUTE_FEE = 1500
EVIDENCE_FIELDS = [
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
]
# Evidence fields that take the id of a file uploaded with purpose dispute_evidence.
FILE_FIELDS = {
    "cancellation_policy",
    "customer_communication",
    "customer_signature",
    "duplicate_charge_documentation",
    "receipt",
    "refund_policy",
    "service_documentation",
    "shipping_documentation",
    "uncategorized_file",
}


def open_dispute(store, charge, req=None):
    now = store.now()
    account = charge["_account"]
    dispute = {
        "id": ids.new_id("dispute"),
        "object": "dispute",
        "amount": charge["amount_captured"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": dict.fromkeys(EVIDENCE_FIELDS) | {"enhanced_evidence": {}},
        "evidence_details": {
            "due_by": now + 7 * 86400,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "10.4",
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": charge["payment_method_details"]["card"]["brand"],
                "case_type": "chargeback",
                "network_reason_code": "10.4",
            },
            "type": "card",
        },
        "reason": "fraudulent",
        "status": "needs_response",
    }
    txn = balance.add_txn(
        store,
        account,
        -dispute["amount"],
        dispute["currency"],
        "adjustment",
        dispute["id"],
        fee=DISPUTE_FEE,
        description=f"Chargeback withdrawal for {charge['id']}",
    )
    txn["fee_details"] = [
        {
            "amount": DISPUTE_FEE,
            "application": None,
            "currency": dispute["currency"],
            "description": "Dispute fee",
            "type": "stripe_fee",
        }
    ]
    dispute["balance_transactions"].append(txn["id"])
    store.add("disputes", dispute, account)
    charge["disputed"] = True
    store.emit("charge.dispute.created", dispute, account=account, req=req)
    store.emit("charge.dispute.funds_withdrawn", dispute, account=account, req=req)
    return dispute


def close(store, dispute, won, req=None):
    account = dispute["_account"]
    previous = {"status": dispute["status"]}
    if won:
        txn = balance.add_txn(
            store,
            account,
            dispute["amount"],
            dispute["currency"],
            "adjustment",
            dispute["id"],
            description=f"Chargeback reversal for {dispute['charge']}",
        )
        dispute["balance_transactions"].append(txn["id"])
        dispute["status"] = "won"
        store.emit("charge.dispute.funds_reinstated", dispute, account=account, req=req)
    else:
        dispute["status"] = "lost"
    store.emit("charge.dispute.updated", dispute, account=account, req=req, previous_attributes=previous)
    store.emit("charge.dispute.closed", dispute, account=account, req=req)


@route("POST", r"/v1/disputes/(?P<dp_id>[^/]+)")
def update_dispute(req, dp_id):
    dispute = req.store.get("disputes", dp_id, req.account)
    if dispute["status"] in ("won", "lost", "warning_closed"):
        raise errors.invalid("This dispute is already closed")
    evidence = req.dict("evidence")
    if evidence and req.store.now() > dispute["evidence_details"]["due_by"]:
        dispute["evidence_details"]["past_due"] = True
        raise errors.invalid(
            "The deadline to submit evidence for this dispute has passed.", code="dispute_evidence_past_due"
        )
    for key, value in evidence.items():
        if key not in dispute["evidence"]:
            raise errors.invalid(f"Received unknown parameter: evidence[{key}]", param=f"evidence[{key}]")
        if key in FILE_FIELDS and value:
            upload = req.store.coll("files").get(value)
            if upload is None or upload.get("_account") != req.account or upload["purpose"] != "dispute_evidence":
                raise errors.invalid(
                    f"No such file upload: '{value}' (files given as evidence need purpose dispute_evidence)",
                    param=f"evidence[{key}]",
                    code="resource_missing",
                )
        dispute["evidence"][key] = value or None
    merge_metadata(dispute, req.params.get("metadata"))
    if evidence:
        dispute["evidence_details"]["has_evidence"] = True
    if not req.bool("submit", default=True):
        req.store.emit("charge.dispute.updated", dispute, account=req.account, req=req)
        return req.render(dispute)
    dispute["evidence_details"]["submission_count"] += 1
    text = dispute["evidence"].get("uncategorized_text")
    if text == "winning_evidence":
        close(req.store, dispute, True, req)
    elif text == "losing_evidence":
        close(req.store, dispute, False, req)
    else:
        previous = {"status": dispute["status"]}
        dispute["status"] = "under_review"
        req.store.emit("charge.dispute.updated", dispute, account=req.account, req=req, previous_attributes=previous)
    return req.render(dispute)


@route("POST", r"/v1/disputes/(?P<dp_id>[^/]+)/close")
def close_dispute(req, dp_id):
    dispute = req.store.get("disputes", dp_id, req.account)
    if dispute["status"] in ("won", "lost", "warning_closed"):
        raise errors.invalid("This dispute is already closed")
    close(req.store, dispute, False, req)
    return req.render(dispute)


@route("GET", r"/v1/disputes/(?P<dp_id>[^/]+)")
def retrieve_dispute(req, dp_id):
    return req.render(req.store.get("disputes", dp_id, req.account))


@route("GET", r"/v1/disputes")
def list_disputes(req):
    charge, pi = req.str("charge"), req.str("payment_intent")
    return req.list(
        "disputes",
        "/v1/disputes",
        lambda d: (not charge or d["charge"] == charge) and (not pi or d["payment_intent"] == pi),
    )


@render_hook("dispute")
def _render_dispute(store, obj, out):
    # Stored as ids; Stripe always returns these balance transactions in full.
    out["balance_transactions"] = [
        store.render(store.coll("balance_transactions")[t]) for t in obj["balance_transactions"]
    ]
