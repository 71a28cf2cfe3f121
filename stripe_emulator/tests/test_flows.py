"""End-to-end money flows driven through the official SDK."""

from urllib.parse import urlsplit

import pytest
import stripe

from .conftest import emu

DAY = 86400


def balance_of(client, account=None):
    options = {"stripe_account": account} if account else {}
    bal = client.v1.balance.retrieve(options=options)
    return ({b.currency: b.amount for b in bal.available}["usd"], {b.currency: b.amount for b in bal.pending}["usd"])


def pay(client, amount=10000, pm="pm_card_visa", **extra):
    return client.v1.payment_intents.create(
        params={"amount": amount, "currency": "usd", "payment_method": pm, "confirm": True, **extra}
    )


def event_types(client, **params):
    return [e.type for e in client.v1.events.list(params={"limit": 100, **params}).data][::-1]


def test_hosted_onboarding_page(client, srv):
    acct = client.v1.accounts.create(
        params={"type": "express", "email": "seller@example.com", "capabilities": {"transfers": {"requested": True}}}
    )
    assert acct.charges_enabled is False and acct.capabilities.transfers == "inactive"
    link = client.v1.account_links.create(
        params={
            "account": acct.id,
            "refresh_url": "http://app.test/refresh",
            "return_url": "http://app.test/return",
            "type": "account_onboarding",
        }
    )
    path = urlsplit(link.url).path
    page = emu(srv, "GET", path)
    assert "Complete onboarding" in page.text and "Abandon" in page.text
    abandon = emu(srv, "POST", path, action="abandon")
    assert abandon.status_code == 303 and abandon.headers["Location"] == "http://app.test/refresh"
    done = emu(srv, "POST", path, action="complete")
    assert done.headers["Location"] == "http://app.test/return"
    acct = client.v1.accounts.retrieve(acct.id)
    assert acct.details_submitted and acct.charges_enabled and acct.payouts_enabled
    assert acct.capabilities.transfers == "active" and acct.capabilities.card_payments == "active"
    assert acct.external_accounts.data[0].id.startswith("ba_")
    evt = client.v1.events.list(params={"type": "account.updated"}, options={"stripe_account": acct.id}).data[0]
    assert evt.account == acct.id and evt.data.object.charges_enabled is True
    assert client.v1.accounts.retrieve_current().id != acct.id


def test_payment_success_and_ledger(client, srv):
    pi = pay(client, 10000, transfer_group="order_42", metadata={"order": "42"})
    assert pi.status == "succeeded" and pi.amount_received == 10000
    assert pi.payment_method.startswith("pm_") and pi.payment_method != "pm_card_visa"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.transfer_group == "order_42" and charge.amount_captured == 10000 and charge.paid
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert txn.type == "charge" and txn.fee == 320 and txn.net == 9680
    assert txn.available_on == txn.created + 2 * DAY
    assert balance_of(client) == (0, 9680)
    srv.advance_clock(2 * DAY)
    assert balance_of(client) == (9680, 0)
    assert client.v1.balance_transactions.retrieve(txn.id).status == "available"
    types = event_types(client)
    assert types[:3] == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]
    assert "balance.available" in types


@pytest.mark.parametrize(
    "pm,decline_code",
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_declines(client, pm, decline_code):
    pi = client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd"})
    assert pi.status == "requires_payment_method"
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.confirm(pi.id, params={"payment_method": pm})
    err = exc.value
    assert err.http_status == 402 and err.code == "card_declined"
    assert err.error.decline_code == decline_code
    assert err.error.payment_intent.id == pi.id
    assert err.error.payment_intent.status == "requires_payment_method"
    pi = client.v1.payment_intents.retrieve(pi.id)
    assert pi.last_payment_error.decline_code == decline_code
    assert client.v1.charges.retrieve(pi.latest_charge).status == "failed"
    assert "payment_intent.payment_failed" in event_types(client)
    retried = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert retried.status == "succeeded" and retried.last_payment_error is None


@pytest.mark.parametrize("outcome", ["complete", "fail"])
def test_three_d_secure(client, srv, outcome):
    pi = pay(client, 4000, pm="pm_card_authenticationRequired", return_url="http://app.test/back")
    assert pi.status == "requires_action"
    url = pi.next_action.redirect_to_url.url
    assert pi.next_action.type == "redirect_to_url"
    assert pi.next_action.redirect_to_url.return_url == "http://app.test/back"
    assert "Complete authentication" in emu(srv, "GET", urlsplit(url).path).text
    resp = emu(srv, "POST", urlsplit(url).path, action=outcome)
    assert resp.status_code == 303 and resp.headers["Location"].startswith("http://app.test/back?payment_intent=")
    pi = client.v1.payment_intents.retrieve(pi.id)
    if outcome == "complete":
        assert pi.status == "succeeded"
        assert "payment_intent.succeeded" in event_types(client)
    else:
        assert pi.status == "requires_payment_method"
        assert pi.last_payment_error.code == "payment_intent_authentication_failure"
        assert "payment_intent.payment_failed" in event_types(client)
    assert "payment_intent.requires_action" in event_types(client)


def test_three_d_secure_page_is_styled_for_any_screen(client, srv):
    pi = pay(client, 4000, pm="pm_card_authenticationRequired", return_url="http://app.test/back")
    page = emu(srv, "GET", urlsplit(pi.next_action.redirect_to_url.url).path)
    assert page.headers["Content-Type"].startswith("text/html")
    body = page.text
    # Self-contained: the emulator serves no static files and loads nothing from elsewhere.
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
    assert "<style>" in body and "<link" not in body and "src=" not in body
    assert "40.00 USD" in body
    # Completing is the primary action; failing is visibly the other one.
    assert 'value="complete" id="complete" class="primary"' in body
    assert 'value="fail" id="fail" class="secondary"' in body
    assert "button.secondary{" in body


def test_three_d_secure_json_endpoint(client, srv):
    pi = pay(client, 4000, pm="pm_card_authenticationRequired", capture_method="manual")
    resp = emu(srv, "POST", f"/emulator/payment_intents/{pi.id}/authenticate", outcome="complete")
    assert resp.json()["status"] == "requires_capture"


def test_manual_capture_and_cancel(client):
    pi = pay(client, 5000, capture_method="manual")
    assert pi.status == "requires_capture" and pi.amount_capturable == 5000
    captured = client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 4000})
    assert captured.status == "succeeded" and captured.amount_received == 4000
    charge = client.v1.charges.retrieve(captured.latest_charge)
    assert charge.amount_captured == 4000 and charge.captured
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.cancel(pi.id)
    assert exc.value.code == "payment_intent_unexpected_state"
    other = pay(client, 5000, capture_method="manual")
    canceled = client.v1.payment_intents.cancel(other.id, params={"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled"
    types = event_types(client)
    assert {"payment_intent.amount_capturable_updated", "charge.captured", "payment_intent.canceled"} <= set(types)


def test_transfers(client, srv, onboarded):
    acct = onboarded()
    pi = pay(client, 10000)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.transfers.create(params={"amount": 5000, "currency": "usd", "destination": acct.id})
    assert exc.value.code == "balance_insufficient"
    transfer = client.v1.transfers.create(
        params={
            "amount": 8000,
            "currency": "usd",
            "destination": acct.id,
            "source_transaction": pi.latest_charge,
            "transfer_group": "order_1",
        }
    )
    assert transfer.source_transaction == pi.latest_charge and transfer.amount == 8000
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.create(
            params={"amount": 3000, "currency": "usd", "destination": acct.id, "source_transaction": pi.latest_charge}
        )
    assert balance_of(client, acct.id) == (0, 8000)
    srv.advance_clock(2 * DAY)
    assert balance_of(client, acct.id) == (8000, 0)
    assert balance_of(client) == (9680 - 8000, 0)
    reversal = client.v1.transfers.reversals.create(transfer.id, params={"amount": 3000})
    assert reversal.id.startswith("trr_")
    assert balance_of(client, acct.id) == (5000, 0)
    rest = client.v1.transfers.reversals.create(transfer.id)
    assert rest.amount == 5000 and client.v1.transfers.retrieve(transfer.id).reversed is True
    assert event_types(client, type="transfer.*") == ["transfer.created", "transfer.reversed", "transfer.reversed"]
    plain = client.v1.transfers.create(params={"amount": 100, "currency": "usd", "destination": acct.id})
    assert plain.source_transaction is None


def test_refunds(client):
    pi = pay(client, 10000)
    first = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 3000})
    assert first.status == "succeeded" and first.charge == pi.latest_charge
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.amount_refunded == 3000 and charge.refunded is False
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": charge.id, "amount": 8000})
    assert exc.value.param == "amount" and exc.value.code == "amount_too_large"
    client.v1.refunds.create(params={"charge": charge.id})
    charge = client.v1.charges.retrieve(charge.id)
    assert charge.amount_refunded == 10000 and charge.refunded is True and len(charge.refunds.data) == 2
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"charge": charge.id})
    assert exc.value.code == "charge_already_refunded"
    assert balance_of(client) == (-10000, 9680)
    assert event_types(client, type="charge.refunded") == ["charge.refunded", "charge.refunded"]
    assert len(client.v1.refunds.list(params={"payment_intent": pi.id}).data) == 2


def _funded_account(client, srv, onboarded, bank):
    acct = onboarded(bank=bank)
    pi = pay(client, 10000)
    client.v1.transfers.create(
        params={"amount": 6000, "currency": "usd", "destination": acct.id, "source_transaction": pi.latest_charge}
    )
    srv.advance_clock(2 * DAY)
    return acct


def test_payout_paid(client, srv, onboarded):
    acct = _funded_account(client, srv, onboarded, "btok_us_verified")
    opts = {"stripe_account": acct.id}
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payouts.create(params={"amount": 7000, "currency": "usd"}, options=opts)
    assert exc.value.code == "balance_insufficient"
    payout = client.v1.payouts.create(params={"amount": 5000, "currency": "usd"}, options=opts)
    assert payout.status == "pending" and payout.destination.startswith("ba_")
    assert balance_of(client, acct.id) == (1000, 0)
    srv.advance_clock(DAY)
    assert client.v1.payouts.retrieve(payout.id, options=opts).status == "in_transit"
    srv.advance_clock(DAY)
    assert client.v1.payouts.retrieve(payout.id, options=opts).status == "paid"
    events = client.v1.events.list(params={"type": "payout.paid"}, options=opts).data
    assert events[0].account == acct.id and events[0].data.object.id == payout.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payouts.retrieve(payout.id)  # not visible from the platform


def test_payout_failed(client, srv, onboarded):
    acct = _funded_account(client, srv, onboarded, "btok_us_verified_accountClosed")
    opts = {"stripe_account": acct.id}
    payout = client.v1.payouts.create(params={"amount": 5000, "currency": "usd"}, options=opts)
    srv.advance_clock(2 * DAY)
    payout = client.v1.payouts.retrieve(payout.id, options=opts)
    assert payout.status == "failed" and payout.failure_code == "account_closed"
    assert balance_of(client, acct.id) == (6000, 0)
    failed = client.v1.events.list(params={"type": "payout.failed"}, options=opts).data
    assert failed[0].account == acct.id and failed[0].data.object.failure_code == "account_closed"
    assert payout.failure_balance_transaction.startswith("txn_")


@pytest.mark.parametrize("evidence,status", [("winning_evidence", "won"), ("losing_evidence", "lost")])
def test_disputes(client, evidence, status):
    pi = pay(client, 10000, pm="pm_card_createDispute")
    assert pi.status == "succeeded"
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.disputed is True
    dispute = client.v1.disputes.list(params={"payment_intent": pi.id}).data[0]
    assert dispute.status == "needs_response" and dispute.amount == 10000
    assert balance_of(client) == (-11500, 9680)
    dispute = client.v1.disputes.update(dispute.id, params={"evidence": {"uncategorized_text": evidence}})
    assert dispute.status == status
    types = event_types(client, type="charge.dispute.*")
    assert types[:2] == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    assert "charge.dispute.closed" in types
    if status == "won":
        assert balance_of(client) == (-1500, 9680) and "charge.dispute.funds_reinstated" in types
    else:
        assert balance_of(client) == (-11500, 9680)


def test_dispute_close_accepts(client):
    pi = pay(client, 10000, pm="pm_card_createDispute")
    dispute = client.v1.disputes.list(params={"charge": pi.latest_charge}).data[0]
    assert client.v1.disputes.close(dispute.id).status == "lost"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.close(dispute.id)


def test_idempotency(client):
    params = {"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    first = client.v1.payment_intents.create(params=params, options={"idempotency_key": "k1"})
    again = client.v1.payment_intents.create(params=params, options={"idempotency_key": "k1"})
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.payment_intents.list().data) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(params={**params, "amount": 2000}, options={"idempotency_key": "k1"})
    declined = {**params, "payment_method": "pm_card_chargeDeclined"}
    with pytest.raises(stripe.CardError) as one:
        client.v1.payment_intents.create(params=declined, options={"idempotency_key": "k2"})
    with pytest.raises(stripe.CardError) as two:
        client.v1.payment_intents.create(params=declined, options={"idempotency_key": "k2"})
    assert one.value.error.payment_intent.id == two.value.error.payment_intent.id


def test_connected_account_scoping(client, onboarded):
    acct = onboarded()
    customer = client.v1.customers.create(params={"email": "x@example.com"}, options={"stripe_account": acct.id})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve(customer.id)
    assert client.v1.customers.retrieve(customer.id, options={"stripe_account": acct.id}).id == customer.id


def _files_client(srv):
    return stripe.StripeClient(
        "sk_test_emulator", base_addresses={"api": srv.url, "files": srv.url}, max_network_retries=0
    )


def _upload(client, content, name="proof.pdf", purpose="dispute_evidence", key=None):
    import io

    upload = io.BytesIO(content)
    upload.name = name
    options = {"idempotency_key": key} if key else {}
    return client.v1.files.create(params={"purpose": purpose, "file": upload}, options=options)


def test_dispute_evidence_with_a_file_closes_by_the_evidence_given(client, srv):
    files = _files_client(srv)
    pdf = b"%PDF-1.4\n%%EOF\n"
    first = _upload(files, pdf, key="upload-1")
    assert _upload(files, pdf, key="upload-1").id == first.id  # an upload retried with its key is one file
    with pytest.raises(stripe.InvalidRequestError) as exc:
        _upload(files, b"MZ not a document", name="x.exe")
    assert exc.value.code == "file_invalid_type"
    identity = _upload(files, pdf, purpose="identity_document")

    pi = pay(client, 10000, pm="pm_card_createDispute")
    dispute = client.v1.disputes.list(params={"charge": pi.latest_charge}).data[0]
    for bad in ("file_doesnotexist", identity.id):
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.disputes.update(dispute.id, params={"evidence": {"service_documentation": bad}})
    dispute = client.v1.disputes.update(
        dispute.id, params={"evidence": {"service_documentation": first.id, "uncategorized_text": "winning_evidence"}}
    )
    assert dispute.status == "won" and dispute.evidence.service_documentation == first.id
    assert dispute.evidence_details.submission_count == 1


def test_dispute_evidence_after_due_by_is_refused(client, srv):
    pi = pay(client, 10000, pm="pm_card_createDispute")
    dispute = client.v1.disputes.list(params={"charge": pi.latest_charge}).data[0]
    srv.advance_clock(8 * 86400)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.disputes.update(dispute.id, params={"evidence": {"uncategorized_text": "winning_evidence"}})
    assert exc.value.code == "dispute_evidence_past_due"
    assert client.v1.disputes.retrieve(dispute.id).status == "needs_response"
