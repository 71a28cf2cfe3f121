"""Customers."""

from .. import errors, ids
from ..router import merge_metadata, route

_UPDATABLE = ("email", "name", "description", "phone")


@route("POST", r"/v1/customers")
def create_customer(req):
    customer = {
        "id": ids.new_id("customer"),
        "object": "customer",
        "address": None,
        "balance": 0,
        "business_name": None,
        "cash_balance": None,
        "created": req.store.now(),
        "currency": None,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": req.str("description"),
        "discount": None,
        "email": req.str("email"),
        "individual_name": None,
        "invoice_credit_balance": {},
        "invoice_prefix": ids.random_token(8).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": req.str("name"),
        "next_invoice_sequence": 1,
        "phone": req.str("phone"),
        "preferred_locales": [],
        "shipping": None,
        "sources": None,
        "subscriptions": None,
        "tax": None,
        "tax_exempt": "none",
        "tax_ids": None,
        "test_clock": None,
    }
    merge_metadata(customer, req.params.get("metadata"))
    req.store.add("customers", customer, req.account)
    req.store.emit("customer.created", customer, account=req.account, req=req)
    return req.render(customer)


def get_customer(req, cus_id, param="id"):
    customer = req.store.get("customers", cus_id, req.account, param=param)
    if customer.get("deleted"):
        raise errors.not_found("customer", cus_id, param=param)
    return customer


@route("GET", r"/v1/customers/(?P<cus_id>[^/]+)")
def retrieve_customer(req, cus_id):
    return req.render(get_customer(req, cus_id))


@route("POST", r"/v1/customers/(?P<cus_id>[^/]+)")
def update_customer(req, cus_id):
    customer = get_customer(req, cus_id)
    previous = {}
    for field in _UPDATABLE:
        if field in req.params:
            previous[field] = customer[field]
            customer[field] = req.str(field)
    if "metadata" in req.params:
        previous["metadata"] = customer["metadata"]
        merge_metadata(customer, req.params["metadata"])
    settings = req.dict("invoice_settings")
    if "default_payment_method" in settings:
        previous["invoice_settings"] = dict(customer["invoice_settings"])
        customer["invoice_settings"]["default_payment_method"] = settings["default_payment_method"] or None
    req.store.emit("customer.updated", customer, account=req.account, req=req, previous_attributes=previous)
    return req.render(customer)


@route("DELETE", r"/v1/customers/(?P<cus_id>[^/]+)")
def delete_customer(req, cus_id):
    customer = get_customer(req, cus_id)
    customer["deleted"] = True
    req.store.emit("customer.deleted", customer, account=req.account, req=req)
    return {"id": cus_id, "object": "customer", "deleted": True}


@route("GET", r"/v1/customers")
def list_customers(req):
    email = req.str("email")
    return req.list("customers", "/v1/customers", lambda c: not c.get("deleted") and (not email or c["email"] == email))
