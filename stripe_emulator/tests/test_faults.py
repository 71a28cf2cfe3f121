"""Processor faults (stripe_emulator.faults): failing, lost and held API answers; faulty webhooks."""

import json
import threading

import pytest
import requests
import stripe
from stripe._http_client import HTTPClient

from .conftest import API_KEY, emu

PAY = {"amount": 1500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}


@pytest.fixture
def retrying(srv, monkeypatch):
    """A client that retries like Holdfast's (2 network retries), without the SDK's half-second waits."""
    monkeypatch.setattr(HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(HTTPClient, "MAX_DELAY", 0.02)
    return stripe.StripeClient(API_KEY, base_addresses={"api": srv.url}, max_network_retries=2)


def charges(srv):
    return list(srv.store.coll("charges").values())


def intents(srv):
    return list(srv.store.coll("payment_intents").values())


def test_lost_answer_is_done_once_and_the_retry_gets_the_recorded_answer(srv, retrying):
    srv.configure_faults(rules=[{"match": "POST /v1/payment_intents", "fault": "lost_answer", "max": 1}])
    pi = retrying.v1.payment_intents.create(params=PAY, options={"idempotency_key": "escrow-1-fund"})
    assert pi.status == "succeeded"
    assert srv.fault_counts()["lost_answer"] == 1
    assert [p["id"] for p in intents(srv)] == [pi.id]
    assert len(charges(srv)) == 1
    assert pi.last_response.headers.get("Idempotent-Replayed") == "true"


def test_lost_answer_without_retries_is_a_connection_error_but_the_charge_happened(srv, client):
    srv.configure_faults(rules=[{"match": "POST /v1/payment_intents*", "fault": "lost_answer"}])
    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.create(params=PAY, options={"idempotency_key": "k-lost"})
    assert [p["status"] for p in intents(srv)] == ["succeeded"]
    assert len(charges(srv)) == 1
    # Asked again with the same key once the fault is gone: the recorded answer, no second charge.
    srv.configure_faults()
    again = client.v1.payment_intents.create(params=PAY, options={"idempotency_key": "k-lost"})
    assert again.id == intents(srv)[0]["id"] and len(charges(srv)) == 1


def test_error_500_does_not_do_the_operation_and_the_sdk_retry_does_it_once(srv, client, retrying):
    srv.configure_faults(rules=[{"match": "POST /v1/payment_intents", "fault": "error_500"}])
    with pytest.raises(stripe.APIError) as failed:
        client.v1.payment_intents.create(params=PAY, options={"idempotency_key": "k-500"})
    assert failed.value.http_status == 500 and failed.value.error.type == "api_error"
    assert intents(srv) == [] and charges(srv) == []

    srv.configure_faults(rules=[{"match": "POST /v1/payment_intents", "fault": "error_500", "max": 2}])
    pi = retrying.v1.payment_intents.create(params=PAY, options={"idempotency_key": "k-500"})
    assert pi.status == "succeeded" and len(intents(srv)) == 1 and len(charges(srv)) == 1
    assert srv.fault_counts()["error_500"] == 2


def test_rate_limit_429_is_stripes_shape_and_changes_nothing(srv, client):
    srv.configure_faults(rules=[{"match": "POST /v1/*", "fault": "rate_limit_429", "max": 1}])
    with pytest.raises(stripe.RateLimitError) as limited:
        client.v1.customers.create(params={"email": "a@example.com"})
    assert limited.value.http_status == 429 and limited.value.error.code == "rate_limit"
    assert srv.store.coll("customers") == {}
    client.v1.customers.create(params={"email": "a@example.com"})
    assert len(srv.store.coll("customers")) == 1
    assert srv.fault_counts()["rate_limit_429"] == 1


def test_rules_match_method_and_path_and_only_the_api(srv, client):
    srv.configure_faults(rules=[{"match": "POST /v1/refunds", "fault": "error_500"}])
    pi = client.v1.payment_intents.create(params=PAY)
    client.v1.payment_intents.retrieve(pi.id)
    assert emu(srv, "GET", "/emulator/health").status_code == 200
    with pytest.raises(stripe.APIError):
        client.v1.refunds.create(params={"payment_intent": pi.id})
    assert srv.store.coll("refunds") == {}
    assert srv.fault_counts()["error_500"] == 1


def test_hang_does_the_operation_then_holds_the_answer_until_released(srv, client):
    srv.configure_faults(rules=[{"match": "POST /v1/payment_intents", "fault": "hang", "seconds": 60}])
    answers = []
    caller = threading.Thread(target=lambda: answers.append(client.v1.payment_intents.create(params=PAY)))
    caller.start()
    deadline = threading.Event()
    for _ in range(200):
        if srv.fault_counts()["hang"] == 1:
            break
        deadline.wait(0.02)
    assert srv.fault_counts()["hang"] == 1
    # The charge is already made while the caller still waits for its answer.
    assert [p["status"] for p in intents(srv)] == ["succeeded"] and answers == []
    srv.configure_faults()  # lets the held answer go
    caller.join(10)
    assert [a.id for a in answers] == [intents(srv)[0]["id"]]


def test_same_seed_same_requests_same_faults(srv, client):
    def pattern(seed):
        srv.configure_faults(seed=seed, rules=[{"match": "GET /v1/balance", "fault": "error_500", "probability": 0.5}])
        outcome = []
        for _ in range(24):
            try:
                client.v1.balance.retrieve()
                outcome.append("ok")
            except stripe.APIError:
                outcome.append("500")
        return outcome

    first = pattern(11)
    assert "ok" in first and "500" in first
    assert pattern(11) == first
    assert srv.fault_counts()["error_500"] == first.count("500")


def test_http_knob_and_reset(srv, client):
    body = {"seed": 3, "rules": [{"match": "POST /v1/customers", "fault": "error_500", "max": 1}]}
    state = requests.post(srv.url + "/emulator/faults", json=body, timeout=5).json()
    assert state["rules"][0]["fault"] == "error_500" and state["seed"] == 3
    with pytest.raises(stripe.APIError):
        client.v1.customers.create()
    shown = requests.get(srv.url + "/emulator/faults", timeout=5).json()
    assert shown["counts"]["error_500"] == 1 and shown["rules"][0]["fired"] == 1

    bad = requests.post(srv.url + "/emulator/faults", json={"rules": [{"match": "*", "fault": "boom"}]}, timeout=5)
    assert bad.status_code == 400 and "fault must be one of" in bad.json()["error"]["message"]
    assert requests.get(srv.url + "/emulator/faults", timeout=5).json()["seed"] == 3  # unchanged

    srv.configure_faults(rules=[{"match": "*", "fault": "error_500"}])
    srv.reset()
    client.v1.customers.create()
    assert srv.fault_counts()["error_500"] == 0


def _endpoint(client, receiver):
    return client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})


def test_webhook_drop_is_never_delivered(srv, client, receiver):
    _endpoint(client, receiver)
    srv.configure_faults(webhooks={"drop": 1.0})
    client.v1.payment_intents.create(params=PAY)
    assert srv.wait_for_deliveries(5)
    assert receiver.requests == []
    log = emu(srv, "GET", "/emulator/deliveries").json()["data"]
    assert len(log) == 3 and all(d["faults"] == ["drop"] and d["attempts"] == 0 for d in log)
    assert srv.fault_counts()["webhook_drop"] == 3


def test_webhook_duplicate_is_delivered_twice(srv, client, receiver):
    _endpoint(client, receiver)
    srv.configure_faults(webhooks={"duplicate": 1.0})
    client.v1.payment_intents.create(params=PAY)
    assert srv.wait_for_deliveries(5)
    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == 6 and len(set(ids)) == 3 and all(ids.count(i) == 2 for i in ids)


def test_webhook_reorder_swaps_with_the_next_delivery(srv, client, receiver):
    _endpoint(client, receiver)
    srv.configure_faults(webhooks={"reorder": 1.0})
    first = client.v1.customers.create(params={"email": "first@example.com"})
    assert srv.fault_counts()["webhook_reorder"] == 1
    srv.configure_faults()  # the held delivery stays held; the next one is not reordered
    second = client.v1.customers.create(params={"email": "second@example.com"})
    assert srv.wait_for_deliveries(5)
    assert [e["data"]["object"]["id"] for e in receiver.events()] == [second.id, first.id]


def test_webhook_reorder_at_probability_one_swaps_every_pair(srv, client, receiver):
    _endpoint(client, receiver)
    srv.configure_faults(webhooks={"reorder": 1.0})
    client.v1.payment_intents.create(params=PAY)  # created, charge.succeeded, succeeded: one batch
    assert srv.wait_for_deliveries(5)
    # The first two swap; the third waits for a next delivery, then goes on its own.
    assert [e["type"] for e in receiver.events()] == [
        "charge.succeeded",
        "payment_intent.created",
        "payment_intent.succeeded",
    ]
    assert srv.fault_counts()["webhook_reorder"] == 2
    log = emu(srv, "GET", "/emulator/deliveries").json()["data"]
    assert [d["faults"] for d in log] == [["reorder"], [], ["reorder"]]


def test_webhook_delay_holds_the_delivery(srv, client, receiver):
    _endpoint(client, receiver)
    srv.configure_faults(webhooks={"delay": 1.0, "delay_seconds": 60})
    client.v1.customers.create()
    assert not srv.wait_for_deliveries(0.3)
    assert srv.dispatcher.pending() == 1 and receiver.requests == []
    assert srv.fault_counts()["webhook_delay"] == 1
    srv.configure_faults(webhooks={"delay": 1.0, "delay_seconds": 0})
    client.v1.customers.create()
    assert srv.wait_for_deliveries(0.01) is False  # the first is still 60 s away
    for _ in range(100):
        if receiver.requests:
            break
        threading.Event().wait(0.02)
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == ["customer.created"]


def test_a_held_answer_whose_caller_went_away_still_did_the_work(srv):
    import socket

    srv.configure_faults(rules=[{"match": "POST /v1/customers", "fault": "hang", "seconds": 30}])
    body = b"email=gone%40example.com"
    request = (
        b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + API_KEY.encode() + b"\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    ) + body
    with socket.create_connection((srv.host, srv.port), timeout=5) as sock:
        sock.sendall(request)
        for _ in range(200):
            if srv.fault_counts()["hang"] == 1:
                break
            threading.Event().wait(0.02)
        assert srv.fault_counts()["hang"] == 1
    # The caller is gone (as a worker killed with -9 would be); the customer exists all the same.
    srv.configure_faults()
    assert [c["email"] for c in srv.store.coll("customers").values()] == ["gone@example.com"]
    assert requests.get(srv.url + "/emulator/health", timeout=5).json() == {"ok": True}
