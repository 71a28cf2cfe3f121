"""Webhook delivery, signatures, retries, test knobs, and persistence across restarts."""

import json
import subprocess
import sys
import time
from pathlib import Path

import requests
import stripe

from stripe_emulator.server import EmulatorServer

from .conftest import API_KEY, emu


def make_endpoint(client, receiver, **params):
    return client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"], **params})


def pay(client):
    return client.v1.payment_intents.create(
        params={"amount": 1500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )


def test_signed_delivery(client, srv, receiver):
    endpoint = make_endpoint(client, receiver)
    pi = pay(client)
    assert srv.wait_for_deliveries(5)
    verified = [stripe.Webhook.construct_event(r["body"], r["signature"], endpoint.secret) for r in receiver.requests]
    assert [e.type for e in verified] == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]
    assert verified[2].data.object.id == pi.id and verified[2].account is None
    assert verified[2].api_version == endpoint.api_version
    try:
        stripe.Webhook.construct_event(receiver.requests[0]["body"], receiver.requests[0]["signature"], "whsec_wrong")
        raise AssertionError("bad secret accepted")
    except stripe.SignatureVerificationError:
        pass
    log = emu(srv, "GET", "/emulator/deliveries").json()
    assert log["pending"] == 0 and all(d["status_codes"] == [200] for d in log["data"])


def test_connect_routing_and_filters(client, srv, receiver, onboarded):
    platform = make_endpoint(client, receiver, enabled_events=["payment_intent.succeeded"])
    connect = make_endpoint(client, receiver, connect=True, enabled_events=["account.updated", "payout.created"])
    onboarded()
    pay(client)
    assert srv.wait_for_deliveries(5)
    by_type = {}
    for r in receiver.requests:
        event = json.loads(r["body"])
        secret = connect.secret if event["account"] else platform.secret
        stripe.Webhook.construct_event(r["body"], r["signature"], secret)
        by_type[event["type"]] = event
    assert set(by_type) == {"payment_intent.succeeded", "account.updated"}
    assert by_type["account.updated"]["account"].startswith("acct_")


def test_retries_on_500(client, srv, receiver):
    make_endpoint(client, receiver, enabled_events=["customer.created"])
    receiver.fail_first = 2
    client.v1.customers.create(params={"email": "r@example.com"})
    assert srv.wait_for_deliveries(5)
    assert len(receiver.requests) == 3
    delivery = emu(srv, "GET", "/emulator/deliveries").json()["data"][0]
    assert delivery["status_codes"] == [500, 500, 200] and delivery["delivered"]


def test_gives_up_after_max_attempts(client, srv):
    srv.configure_webhooks(max_attempts=2)
    client.v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/nothing", "enabled_events": ["*"]})
    client.v1.customers.create()
    assert emu(srv, "GET", "/emulator/deliveries", wait="5").json()["idle"] is True
    delivery = emu(srv, "GET", "/emulator/deliveries").json()["data"][0]
    assert delivery["attempts"] == 2 and not delivery["delivered"]


def test_duplicate_and_shuffle_knobs(client, srv, receiver):
    make_endpoint(client, receiver)
    assert emu(srv, "POST", "/emulator/config", duplicates="2", shuffle="true").json()["duplicates"] == 2
    pay(client)
    assert srv.wait_for_deliveries(5)
    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == 6 and len(set(ids)) == 3


def test_delay_knob(client, srv, receiver):
    make_endpoint(client, receiver)
    srv.configure_webhooks(delay=0.3)
    client.v1.customers.create()
    assert receiver.requests == []
    assert srv.wait_for_deliveries(5) and len(receiver.requests) == 1


def test_events_api(client, srv):
    customer = client.v1.customers.create(options={"idempotency_key": "abc"})
    event = client.v1.events.list(params={"type": "customer.created"}).data[0]
    assert event.data.object.id == customer.id
    assert event["request"]["idempotency_key"] == "abc" and event["request"]["id"].startswith("req_")
    assert client.v1.events.retrieve(event.id).id == event.id
    later = client.v1.events.list(params={"created": {"gt": event.created}}).data
    assert all(e.created > event.created for e in later)


def test_clock_endpoints(srv):
    before = emu(srv, "GET", "/emulator/clock").json()["now"]
    after = emu(srv, "POST", "/emulator/clock/advance", seconds="3600").json()["now"]
    assert after - before >= 3600


def test_persistence_across_restart(tmp_path):
    state = tmp_path / "state.json"
    first = EmulatorServer(port=0, state_path=str(state)).start()
    try:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": first.url})
        pi = client.v1.payment_intents.create(
            params={"amount": 1500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
        )
        first.advance_clock(5000)
    finally:
        first.stop()
    second = EmulatorServer(port=0, state_path=str(state)).start()
    try:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": second.url})
        assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
        assert second.store.clock.offset == 5000
    finally:
        second.stop()


def test_command_line_process(tmp_path):
    state = tmp_path / "cli.json"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--port", "0", "--state", str(state)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "listening on" in line
        url = line.split()[3]
        resp = requests.post(
            f"{url}/v1/customers",
            data={"email": "cli@example.com"},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=5,
        )
        assert resp.status_code == 200 and resp.json()["id"].startswith("cus_")
        deadline = time.time() + 5
        while not state.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert resp.json()["id"] in state.read_text()
    finally:
        proc.terminate()
        proc.wait(5)
