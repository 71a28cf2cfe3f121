"""Every attribute the official SDK declares for a resource is present in the emulator's JSON."""

import pytest
import stripe

from .conftest import emu

# Attributes Stripe itself only sends in particular situations.
SITUATIONAL = {"deleted", "secret"}
INT_FIELDS = {
    "amount",
    "amount_captured",
    "amount_refunded",
    "amount_received",
    "amount_capturable",
    "amount_reversed",
    "fee",
    "net",
    "created",
    "available_on",
    "arrival_date",
    "expires_at",
}


def declared_fields(cls):
    fields = set()
    for klass in cls.__mro__:
        for name, annotation in getattr(klass, "__annotations__", {}).items():
            if name.startswith("_") or "ClassVar" in str(annotation):
                continue
            fields.add(name)
    return fields


def check(obj, cls, object_value, prefix=None):
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    missing = declared_fields(cls) - SITUATIONAL - set(data)
    assert not missing, f"{cls.__name__} is missing {sorted(missing)}"
    assert data["object"] == object_value
    if prefix:
        assert data["id"].startswith(prefix + "_"), data["id"]
    if "livemode" in data:
        assert data["livemode"] is False
    for name in INT_FIELDS & set(data):
        assert data[name] is None or type(data[name]) is int, (name, data[name])
    return data


@pytest.fixture
def world(client, srv, onboarded):
    acct = onboarded()
    customer = client.v1.customers.create(params={"email": "buyer@example.com"})
    pi = client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": "pm_card_createDispute",
            "confirm": True,
            "transfer_group": "order_1",
        }
    )
    charge = client.v1.charges.retrieve(pi.latest_charge)
    pi2 = client.v1.payment_intents.create(
        params={"amount": 3000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    refund = client.v1.refunds.create(params={"payment_intent": pi2.id, "amount": 100})
    transfer = client.v1.transfers.create(
        params={"amount": 1000, "currency": "usd", "destination": acct.id, "source_transaction": pi2.latest_charge}
    )
    reversal = client.v1.transfers.reversals.create(transfer.id, params={"amount": 100})
    srv.advance_clock(3 * 86400)
    payout = client.v1.payouts.create(params={"amount": 500, "currency": "usd"}, options={"stripe_account": acct.id})
    endpoint = client.v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/x", "enabled_events": ["*"]})
    link = client.v1.account_links.create(
        params={
            "account": acct.id,
            "refresh_url": "http://x/refresh",
            "return_url": "http://x/return",
            "type": "account_onboarding",
        }
    )
    return dict(
        acct=acct,
        customer=customer,
        pi=pi,
        charge=charge,
        refund=refund,
        transfer=transfer,
        reversal=reversal,
        payout=payout,
        endpoint=endpoint,
        link=link,
    )


def test_contract_every_resource(client, world):
    w = world
    check(client.v1.accounts.retrieve(w["acct"].id), stripe.Account, "account", "acct")
    check(client.v1.customers.retrieve(w["customer"].id), stripe.Customer, "customer", "cus")
    pi = check(client.v1.payment_intents.retrieve(w["pi"].id), stripe.PaymentIntent, "payment_intent", "pi")
    assert pi["client_secret"].startswith(pi["id"] + "_secret_")
    check(client.v1.payment_methods.retrieve(pi["payment_method"]), stripe.PaymentMethod, "payment_method", "pm")
    charge = check(client.v1.charges.retrieve(w["charge"].id), stripe.Charge, "charge", "ch")
    check(
        client.v1.balance_transactions.retrieve(charge["balance_transaction"]),
        stripe.BalanceTransaction,
        "balance_transaction",
        "txn",
    )
    check(client.v1.balance.retrieve(), stripe.Balance, "balance")
    check(client.v1.refunds.retrieve(w["refund"].id), stripe.Refund, "refund", "re")
    check(client.v1.transfers.retrieve(w["transfer"].id), stripe.Transfer, "transfer", "tr")
    check(
        client.v1.transfers.reversals.retrieve(w["transfer"].id, w["reversal"].id),
        stripe.Reversal,
        "transfer_reversal",
        "trr",
    )
    check(
        client.v1.payouts.retrieve(w["payout"].id, options={"stripe_account": w["acct"].id}),
        stripe.Payout,
        "payout",
        "po",
    )
    disputes = client.v1.disputes.list(params={"charge": w["charge"].id})
    check(disputes.data[0], stripe.Dispute, "dispute", "dp")
    events = client.v1.events.list()
    check(events.data[0], stripe.Event, "event", "evt")
    created = check(w["endpoint"], stripe.WebhookEndpoint, "webhook_endpoint", "we")
    assert created["secret"].startswith("whsec_")
    fetched = check(
        client.v1.webhook_endpoints.retrieve(w["endpoint"].id), stripe.WebhookEndpoint, "webhook_endpoint", "we"
    )
    assert "secret" not in fetched
    check(w["link"], stripe.AccountLink, "account_link")


def test_list_shape_and_pagination(client):
    ids = [client.v1.customers.create(params={"email": f"c{i}@example.com"}).id for i in range(5)]
    page = client.v1.customers.list(params={"limit": 2})
    assert page.object == "list" and page.url == "/v1/customers" and page.has_more is True
    assert [c.id for c in page.data] == ids[::-1][:2]
    nxt = client.v1.customers.list(params={"limit": 2, "starting_after": page.data[-1].id})
    assert [c.id for c in nxt.data] == ids[::-1][2:4]
    everything = [c.id for c in client.v1.customers.list(params={"limit": 2}).auto_paging_iter()]
    assert everything == ids[::-1]


def test_expand(client):
    pi = client.v1.payment_intents.create(
        params={
            "amount": 2000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "expand": ["latest_charge.balance_transaction"],
        }
    )
    assert pi.latest_charge.object == "charge"
    txn = pi.latest_charge.balance_transaction
    assert txn.object == "balance_transaction" and txn.fee == 2000 * 29 // 1000 + 30
    assert txn.net == txn.amount - txn.fee and txn.status == "pending"
    listed = client.v1.charges.list(params={"expand": ["data.payment_intent"]})
    assert listed.data[0].payment_intent.id == pi.id


def test_metadata_merge_and_errors(client, srv):
    customer = client.v1.customers.create(params={"metadata": {"a": "1", "b": "2"}})
    updated = client.v1.customers.update(customer.id, params={"metadata": {"a": "", "c": "3"}})
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve("cus_missing")
    assert exc.value.http_status == 404 and exc.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={"currency": "usd"})
    assert exc.value.param == "amount"
    bad = stripe.StripeClient("sk_live_nope", base_addresses={"api": srv.url})
    with pytest.raises(stripe.AuthenticationError):
        bad.v1.customers.list()
    resp = emu(srv, "GET", "/v1/customers")
    assert resp.status_code == 401 and resp.json()["error"]["type"] == "invalid_request_error"


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_contract_file_upload(srv):
    """`POST /v1/files` is multipart on Stripe's files host; the SDK's File has every field."""
    import io

    files_client = stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": srv.url, "files": srv.url}, max_network_retries=0
    )
    upload = io.BytesIO(PDF)
    upload.name = "proof.pdf"
    created = files_client.v1.files.create(params={"purpose": "dispute_evidence", "file": upload})
    data = check(created, stripe.File, "file", "file")
    assert data["purpose"] == "dispute_evidence" and data["size"] == len(PDF) and data["type"] == "pdf"
    assert data["filename"] == "proof.pdf"
    check(files_client.v1.files.retrieve(created.id), stripe.File, "file", "file")
