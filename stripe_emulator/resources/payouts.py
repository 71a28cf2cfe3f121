"""Payouts to an account's bank account, progressed by the emulator clock."""

from .. import errors, ids
from ..clock import DAY
from ..router import merge_metadata, route
from . import accounts, balance

IN_TRANSIT_AFTER = DAY
ARRIVAL_AFTER = 2 * DAY
FAILURE_MESSAGES = {
    "account_closed": "The bank account has been closed.",
    "no_account": "The bank account details on file are probably incorrect. No bank account could be located with those details.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
}


@route("POST", r"/v1/payouts")
def create_payout(req):
    store = req.store
    amount = req.int("amount", required=True, minimum=1)
    currency = req.currency()
    account_id = req.account or store.platform_id
    bank = accounts.default_bank(store, account_id)
    if req.account and bank is None:
        raise errors.invalid("You don't have any external accounts in that currency (usd).", param="currency")
    if balance.available(store, req.account, currency) < amount:
        raise errors.balance_insufficient(
            "You have insufficient funds in your Stripe account for this transfer. Your card balance "
            "is too low. You can use the /v1/balance endpoint to view your Stripe balance (for more "
            "details, see stripe.com/docs/api#balance)."
        )
    now = store.now()
    payout = {
        "id": ids.new_id("payout"),
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": now + ARRIVAL_AFTER,
        "automatic": False,
        "balance_transaction": None,
        "created": now,
        "currency": currency,
        "description": req.str("description", default="STRIPE PAYOUT"),
        "destination": bank["id"] if bank else None,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {},
        "method": req.str("method", default="standard"),
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": req.str("statement_descriptor"),
        "status": "pending",
        "trace_id": None,
        "type": "bank_account",
        "_failure": bank.get("_payout_failure") if bank else None,
    }
    merge_metadata(payout, req.params.get("metadata"))
    txn = balance.add_txn(
        store, req.account, -amount, currency, "payout", payout["id"], description=payout["description"]
    )
    payout["balance_transaction"] = txn["id"]
    store.add("payouts", payout, req.account)
    store.emit("payout.created", payout, account=req.account, req=req)
    return req.render(payout)


def process_due(store):
    now = store.now()
    for payout in sorted(store.coll("payouts").values(), key=lambda p: p["_seq"]):
        account = payout["_account"]
        if payout["status"] == "pending" and now >= payout["created"] + IN_TRANSIT_AFTER:
            payout["status"] = "in_transit"
            store.emit("payout.updated", payout, account=account, previous_attributes={"status": "pending"})
        if payout["status"] == "in_transit" and now >= payout["arrival_date"]:
            if payout["_failure"]:
                code = payout["_failure"]
                txn = balance.add_txn(
                    store,
                    account,
                    payout["amount"],
                    payout["currency"],
                    "payout_failure",
                    payout["id"],
                    description="Payout failure",
                )
                payout.update(
                    status="failed",
                    failure_code=code,
                    failure_message=FAILURE_MESSAGES.get(code),
                    failure_balance_transaction=txn["id"],
                )
                store.emit("payout.failed", payout, account=account)
            else:
                payout["status"] = "paid"
                store.emit("payout.paid", payout, account=account)
            store.emit("payout.updated", payout, account=account, previous_attributes={"status": "in_transit"})


@route("GET", r"/v1/payouts/(?P<po_id>[^/]+)")
def retrieve_payout(req, po_id):
    return req.render(req.store.get("payouts", po_id, req.account))


@route("GET", r"/v1/payouts")
def list_payouts(req):
    status = req.str("status")
    return req.list("payouts", "/v1/payouts", lambda p: not status or p["status"] == status)


@route("POST", r"/v1/payouts/(?P<po_id>[^/]+)")
def update_payout(req, po_id):
    payout = req.store.get("payouts", po_id, req.account)
    previous = {"metadata": dict(payout["metadata"])}
    merge_metadata(payout, req.params.get("metadata"))
    req.store.emit("payout.updated", payout, account=req.account, req=req, previous_attributes=previous)
    return req.render(payout)


@route("POST", r"/v1/payouts/(?P<po_id>[^/]+)/cancel")
def cancel_payout(req, po_id):
    payout = req.store.get("payouts", po_id, req.account)
    if payout["status"] != "pending":
        raise errors.invalid("Payouts can only be canceled while they are pending.")
    txn = balance.add_txn(
        req.store,
        req.account,
        payout["amount"],
        payout["currency"],
        "payout_cancel",
        payout["id"],
        description="Payout cancellation",
    )
    payout.update(status="canceled", failure_balance_transaction=txn["id"])
    req.store.emit("payout.canceled", payout, account=req.account, req=req)
    return req.render(payout)
