"""Saving cards: SetupIntents (with 3-D Secure), a customer's payment methods, the default card,
ephemeral keys, and saving a card while paying — shapes checked against the SDK like the rest."""

import pytest
import requests
import stripe

from .conftest import emu
from .test_contract import check


@pytest.fixture
def customer(client):
    return client.v1.customers.create(params={"email": "saver@example.com"})


def test_setup_intent_saves_a_card_and_every_shape_matches_the_sdk(client, customer):
    seti = client.v1.setup_intents.create(params={"customer": customer.id, "usage": "off_session"})
    data = check(seti, stripe.SetupIntent, "setup_intent", "seti")
    assert data["status"] == "requires_payment_method" and data["client_secret"].startswith(seti.id + "_secret_")

    confirmed = client.v1.setup_intents.confirm(seti.id, params={"payment_method": "pm_card_visa"})
    assert confirmed.status == "succeeded"
    pm_id = confirmed.payment_method
    check(client.v1.setup_intents.retrieve(seti.id), stripe.SetupIntent, "setup_intent", "seti")

    attached = client.v1.customers.payment_methods.retrieve(customer.id, pm_id)
    card = check(attached, stripe.PaymentMethod, "payment_method", "pm")
    assert card["customer"] == customer.id and card["card"]["last4"] == "4242"
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert [p.id for p in listed.data] == [pm_id]

    updated = client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": pm_id}})
    assert updated.invoice_settings.default_payment_method == pm_id

    key = client.v1.ephemeral_keys.create(
        params={"customer": customer.id}, options={"stripe_version": "2026-08-26.dahlia"}
    )
    shaped = check(key, stripe.EphemeralKey, "ephemeral_key", "ephkey")
    assert shaped["secret"].startswith("ek_test_") and shaped["expires"] > shaped["created"]

    detached = client.v1.payment_methods.detach(pm_id)
    assert detached.customer is None
    assert client.v1.customers.payment_methods.list(customer.id).data == []
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.payment_methods.retrieve(customer.id, pm_id)
    assert exc.value.http_status == 404
    # A detached card can never pay again.
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": pm_id,
                "confirm": True,
            }
        )
    assert "may not be used again" in exc.value.user_message


def test_setup_intent_with_the_3ds_card_waits_for_authentication(client, customer, srv):
    seti = client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
            "return_url": "http://shop.example/cards/return",
        }
    )
    assert seti.status == "requires_action"
    url = seti.next_action.redirect_to_url.url
    assert "Authenticate saving this card" in requests.get(url, timeout=5).text
    assert client.v1.customers.payment_methods.list(customer.id).data == []

    answer = requests.post(url, data={"action": "complete"}, allow_redirects=False, timeout=5)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith(f"http://shop.example/cards/return?setup_intent={seti.id}&")
    assert client.v1.setup_intents.retrieve(seti.id).status == "succeeded"
    assert [p.card.last4 for p in client.v1.customers.payment_methods.list(customer.id).data] == ["3184"]

    failing = client.v1.setup_intents.create(
        params={"customer": customer.id, "payment_method": "pm_card_threeDSecure2Required", "confirm": True}
    )
    resp = emu(srv, "POST", f"/emulator/setup_intents/{failing.id}/authenticate", outcome="fail")
    assert resp.status_code == 200 and resp.json()["status"] == "requires_payment_method"
    assert resp.json()["last_setup_error"]["code"] == "setup_intent_authentication_failure"


def test_declined_card_is_not_saved(client, customer):
    seti = client.v1.setup_intents.create(params={"customer": customer.id})
    with pytest.raises(stripe.CardError) as exc:
        client.v1.setup_intents.confirm(seti.id, params={"payment_method": "pm_card_chargeDeclined"})
    assert exc.value.code == "card_declined"
    assert client.v1.setup_intents.retrieve(seti.id).status == "requires_payment_method"
    assert client.v1.customers.payment_methods.list(customer.id).data == []


def test_paying_with_setup_future_usage_saves_the_card_and_only_its_customer_may_use_it(client, customer):
    pi = client.v1.payment_intents.create(
        params={
            "amount": 2000,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": "pm_card_mastercard",
            "setup_future_usage": "off_session",
            "confirm": True,
        }
    )
    assert pi.status == "succeeded"
    saved = client.v1.customers.payment_methods.list(customer.id).data
    assert [p.id for p in saved] == [pi.payment_method]

    someone_else = client.v1.customers.create(params={"email": "other@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "customer": someone_else.id,
                "payment_method": pi.payment_method,
                "confirm": True,
            }
        )
    assert exc.value.param == "payment_method"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.payment_methods.retrieve(someone_else.id, pi.payment_method)
    again = client.v1.payment_intents.create(
        params={
            "amount": 1500,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": pi.payment_method,
            "confirm": True,
        }
    )
    assert again.status == "succeeded"


def test_ephemeral_key_needs_a_version_and_a_real_customer(client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.ephemeral_keys.create(
            params={"customer": "cus_missing"}, options={"stripe_version": "2026-08-26.dahlia"}
        )
    assert exc.value.http_status == 404
