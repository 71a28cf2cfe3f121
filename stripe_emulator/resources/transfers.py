"""Transfers from the platform to connected accounts, and transfer reversals."""

from .. import errors, ids
from ..router import merge_metadata, route
from ..store import render_hook
from . import balance


@render_hook("transfer")
def _render_transfer(store, obj, out):
    revs = sorted(
        (r for r in store.coll("transfer_reversals").values() if r["transfer"] == obj["id"]),
        key=lambda r: r["_seq"],
        reverse=True,
    )
    out["reversals"] = {
        "object": "list",
        "data": [store.render(r) for r in revs],
        "has_more": False,
        "total_count": len(revs),
        "url": f"/v1/transfers/{obj['id']}/reversals",
    }


@route("POST", r"/v1/transfers")
def create_transfer(req):
    store = req.store
    if req.account:
        raise errors.invalid("Transfers can only be created by the platform account.")
    amount = req.int("amount", required=True, minimum=1)
    currency = req.currency()
    dest_id = req.str("destination", required=True)
    dest = store.coll("accounts").get(dest_id)
    if dest is None or dest.get("deleted") or dest_id == store.platform_id:
        raise errors.invalid(f"No such destination: '{dest_id}'", param="destination", code="resource_missing")
    if dest["capabilities"].get("transfers") != "active":
        raise errors.invalid(
            "Your destination account needs to have at least one of the following capabilities enabled: "
            "transfers, crypto_transfers, legacy_payments",
            param="destination",
            code="insufficient_capabilities_for_transfer",
        )
    source_id = req.str("source_transaction")
    available_on = None
    if source_id:
        charge = store.get("charges", source_id, None, param="source_transaction")
        if charge["status"] != "succeeded" or not charge["captured"]:
            raise errors.invalid("The source_transaction charge has not succeeded.", param="source_transaction")
        if charge["currency"] != currency:
            raise errors.invalid(
                "The currency of source_transaction's balance transaction "
                f"({charge['currency']}) must be the same as the transfer currency ({currency})",
                param="currency",
            )
        already = sum(
            t["amount"] - t["amount_reversed"]
            for t in store.coll("transfers").values()
            if t["source_transaction"] == source_id
        )
        remaining = charge["amount_captured"] - charge.get("_refunds_total", 0) - already
        if amount > remaining:
            raise errors.invalid(
                f"Insufficient funds on source_transaction {source_id}: the transfer amount ({amount}) "
                f"exceeds the amount remaining on the charge ({max(0, remaining)}).",
                param="amount",
                code="balance_insufficient",
            )
        # The transfer draws on the charge's pending funds and settles when they do.
        charge_txn = store.coll("balance_transactions").get(charge["balance_transaction"])
        if charge_txn and charge_txn["available_on"] > store.now():
            available_on = charge_txn["available_on"]
    elif balance.available(store, None, currency) < amount:
        raise errors.balance_insufficient()
    transfer = {
        "id": ids.new_id("transfer"),
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": None,
        "created": store.now(),
        "currency": currency,
        "description": req.str("description"),
        "destination": dest_id,
        "destination_payment": ids.new_id("connected_payment"),
        "livemode": False,
        "metadata": {},
        "reversals": None,
        "reversed": False,
        "source_transaction": source_id,
        "source_type": "card",
        "transfer_group": req.str("transfer_group"),
    }
    merge_metadata(transfer, req.params.get("metadata"))
    txn = balance.add_txn(
        store,
        None,
        -amount,
        currency,
        "transfer",
        transfer["id"],
        available_on=available_on,
        description=transfer["description"],
    )
    transfer["balance_transaction"] = txn["id"]
    dest_txn = balance.add_txn(
        store, dest_id, amount, currency, "payment", transfer["id"], available_on=available_on, category="charge"
    )
    # Stripe creates a `py_` payment on the destination; the emulator only books its balance entry.
    transfer["_destination_txn"] = dest_txn["id"]
    store.add("transfers", transfer, None)
    store.emit("transfer.created", transfer, req=req)
    return req.render(transfer)


def _get_transfer(req, tr_id, param="id"):
    return req.store.get("transfers", tr_id, None if not req.account else "__none__", param=param)


@route("GET", r"/v1/transfers/(?P<tr_id>[^/]+)")
def retrieve_transfer(req, tr_id):
    return req.render(_get_transfer(req, tr_id))


@route("POST", r"/v1/transfers/(?P<tr_id>[^/]+)")
def update_transfer(req, tr_id):
    transfer = _get_transfer(req, tr_id)
    if "description" in req.params:
        transfer["description"] = req.str("description")
    merge_metadata(transfer, req.params.get("metadata"))
    req.store.emit("transfer.updated", transfer, req=req)
    return req.render(transfer)


@route("GET", r"/v1/transfers")
def list_transfers(req):
    dest, group = req.str("destination"), req.str("transfer_group")
    return req.list(
        "transfers",
        "/v1/transfers",
        lambda t: (not dest or t["destination"] == dest) and (not group or t["transfer_group"] == group),
    )


@route("POST", r"/v1/transfers/(?P<tr_id>[^/]+)/reversals")
def create_reversal(req, tr_id):
    store = req.store
    transfer = _get_transfer(req, tr_id)
    remaining = transfer["amount"] - transfer["amount_reversed"]
    if remaining <= 0:
        raise errors.invalid(f"Transfer {tr_id} has already been fully reversed.", code="transfer_already_reversed")
    amount = req.int("amount", default=remaining, minimum=1)
    if amount > remaining:
        raise errors.invalid(
            f"You have attempted to reverse more than the amount remaining on transfer {tr_id} ({remaining}).",
            param="amount",
            code="amount_too_large",
        )
    if (
        balance.available(store, transfer["destination"], transfer["currency"])
        + balance.totals(store, transfer["destination"]).get(transfer["currency"], {}).get("pending", 0)
        < amount
    ):
        raise errors.balance_insufficient("Insufficient funds in the destination account to reverse this transfer.")
    reversal = {
        "id": ids.new_id("transfer_reversal"),
        "object": "transfer_reversal",
        "amount": amount,
        "balance_transaction": None,
        "created": store.now(),
        "currency": transfer["currency"],
        "destination_payment_refund": None,
        "metadata": {},
        "source_refund": None,
        "transfer": tr_id,
    }
    merge_metadata(reversal, req.params.get("metadata"))
    txn = balance.add_txn(store, None, amount, transfer["currency"], "transfer_refund", reversal["id"])
    reversal["balance_transaction"] = txn["id"]
    balance.add_txn(store, transfer["destination"], -amount, transfer["currency"], "payment_refund", reversal["id"])
    store.add("transfer_reversals", reversal, None)
    previous = {"amount_reversed": transfer["amount_reversed"], "reversed": transfer["reversed"]}
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
    store.emit("transfer.reversed", transfer, req=req, previous_attributes=previous)
    return req.render(reversal)


@route("GET", r"/v1/transfers/(?P<tr_id>[^/]+)/reversals/(?P<trr_id>[^/]+)")
def retrieve_reversal(req, tr_id, trr_id):
    reversal = req.store.get("transfer_reversals", trr_id, None)
    if reversal["transfer"] != tr_id:
        raise errors.not_found("transfer reversal", trr_id)
    return req.render(reversal)


@route("GET", r"/v1/transfers/(?P<tr_id>[^/]+)/reversals")
def list_reversals(req, tr_id):
    _get_transfer(req, tr_id)
    return req.list("transfer_reversals", f"/v1/transfers/{tr_id}/reversals", lambda r: r["transfer"] == tr_id)
