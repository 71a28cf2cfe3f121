"""Balance transactions (the ledger) and the derived balance per account."""

from .. import ids
from ..clock import DAY
from ..router import route
from ..store import render_hook

AVAILABILITY_DELAY = 2 * DAY
CATEGORIES = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "transfer": "transfer",
    "payout": "payout",
    "payout_failure": "payout_reversal",
    "adjustment": "dispute",
    "transfer_refund": "transfer_reversal",
    "payment_refund": "refund",
}


def stripe_fee(amount):
    # US card pricing: 2.9% (rounded half up) + 30 minor units.
    return (amount * 29 + 500) // 1000 + 30


def add_txn(store, account, amount, currency, type, source, fee=0, available_on=None, description=None, category=None):
    now = store.now()
    available_on = now if available_on is None else available_on
    txn = {
        "id": ids.new_id("balance_transaction"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": available_on,
        "balance_type": "payments",
        "created": now,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": (
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]
            if fee
            else []
        ),
        "net": amount - fee,
        "reporting_category": category or CATEGORIES.get(type, type),
        "source": source,
        "status": "pending",
        "type": type,
        # Already-available entries never trigger a balance.available event.
        "_notified": available_on <= now,
    }
    return store.add("balance_transactions", txn, account)


@render_hook("balance_transaction")
def _render_txn(store, obj, out):
    out["status"] = "available" if obj["available_on"] <= store.now() else "pending"


def totals(store, account):
    now = store.now()
    result = {}
    for txn in store.coll("balance_transactions").values():
        if txn["_account"] != account:
            continue
        slot = result.setdefault(txn["currency"], {"available": 0, "pending": 0})
        slot["available" if txn["available_on"] <= now else "pending"] += txn["net"]
    result.setdefault("usd", {"available": 0, "pending": 0})
    return result


def available(store, account, currency):
    return totals(store, account).get(currency, {"available": 0})["available"]


def balance_object(store, account):
    sums = totals(store, account)

    def entries(kind):
        return [{"amount": v[kind], "currency": c, "source_types": {"card": v[kind]}} for c, v in sorted(sums.items())]

    return {
        "object": "balance",
        "available": entries("available"),
        "connect_reserved": [{"amount": 0, "currency": c} for c in sorted(sums)],
        "instant_available": [{"amount": 0, "currency": c, "source_types": {"card": 0}} for c in sorted(sums)],
        "issuing": None,
        "livemode": False,
        "pending": entries("pending"),
        "refund_and_dispute_prefunding": None,
    }


def process_due(store):
    now = store.now()
    accounts = set()
    for txn in store.coll("balance_transactions").values():
        if not txn["_notified"] and txn["available_on"] <= now:
            txn["_notified"] = True
            accounts.add(txn["_account"] or "")
    for account in sorted(accounts):
        store.emit("balance.available", balance_object(store, account or None), account=account or None)


@route("GET", r"/v1/balance")
def retrieve_balance(req):
    return balance_object(req.store, req.account)


@route("GET", r"/v1/balance_transactions/(?P<txn_id>[^/]+)")
def retrieve_txn(req, txn_id):
    return req.render(req.store.get("balance_transactions", txn_id, req.account))


@route("GET", r"/v1/balance_transactions")
def list_txns(req):
    params = req.params

    def keep(t):
        return all(
            [
                not params.get("type") or t["type"] == params["type"],
                not params.get("source") or t["source"] == params["source"],
                not params.get("currency") or t["currency"] == params["currency"],
            ]
        )

    return req.list("balance_transactions", "/v1/balance_transactions", keep)
