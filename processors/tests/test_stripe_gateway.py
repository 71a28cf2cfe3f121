"""The Stripe boundary against the emulator over HTTP: signatures, idempotency, declines, 3-D Secure,
balance limits, and the translation of Stripe's errors into the app's."""

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
import requests
from djmoney.money import Money
from djstripe.models import Event, WebhookEndpoint

from core.money import to_minor_units
from processors.interface import PaymentError
from processors.models import WebhookEvent
from processors.stripe import gateway as stripe_gateway
from processors.stripe.setup import stripe_setup

USD = "USD"


def _pi(key, pm="pm_card_visa", amount="105.00", **extra):
    return stripe_gateway.payment_intent_create(
        amount=Money(Decimal(amount), USD),
        key=key,
        transfer_group="escrow-9",
        metadata={"escrow_id": "9"},
        payment_method=pm,
        confirm=True,
        return_url="http://testserver/back",
        **extra,
    )


# --- Signatures ---------------------------------------------------------------------------


def _signed_post(client, endpoint, payload, *, secret, timestamp=None):
    timestamp = int(timestamp or time.time())
    body = json.dumps(payload)
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        f"/stripe/webhook/{endpoint.djstripe_uuid}/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={mac}",
    )


@pytest.fixture
def platform_endpoint(db, stripe_emulator):
    stripe_setup(site_url="http://testserver")
    return WebhookEndpoint.objects.get(metadata__holdfast_role="platform")


EVENT = {
    "id": "evt_test_signature",
    "object": "event",
    "type": "customer.created",
    "api_version": "2026-08-26.dahlia",
    "created": 1700000000,
    "livemode": False,
    "pending_webhooks": 1,
    "request": {"id": None, "idempotency_key": None},
    "data": {"object": {"id": "cus_x", "object": "customer"}},
}


@pytest.mark.parametrize(
    "case",
    ["forged", "wrong_secret", "too_old", "missing"],
)
def test_bad_signatures_are_rejected_and_store_nothing(client, platform_endpoint, case):
    if case == "forged":
        response = client.post(
            f"/stripe/webhook/{platform_endpoint.djstripe_uuid}/",
            data=json.dumps(EVENT),
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=f"t={int(time.time())},v1={'0' * 64}",
        )
    elif case == "wrong_secret":
        response = _signed_post(client, platform_endpoint, EVENT, secret="whsec_not_the_right_one")
    elif case == "too_old":
        response = _signed_post(
            client, platform_endpoint, EVENT, secret=platform_endpoint.secret, timestamp=time.time() - 301
        )
    else:
        response = client.post(
            f"/stripe/webhook/{platform_endpoint.djstripe_uuid}/",
            data=json.dumps(EVENT),
            content_type="application/json",
        )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert not Event.objects.exists()


def test_correct_signature_is_accepted(client, platform_endpoint, stripe_emulator, django_capture_on_commit_callbacks):
    customer = requests.post(
        f"{stripe_emulator.url}/v1/customers",
        data={"email": "c@example.com"},
        headers={"Authorization": "Bearer sk_test_x"},
        timeout=5,
    ).json()
    event = dict(EVENT, data={"object": customer})
    with django_capture_on_commit_callbacks(execute=True):
        response = _signed_post(client, platform_endpoint, event, secret=platform_endpoint.secret)
    assert response.status_code == 200
    assert WebhookEvent.objects.get().event_id == "evt_test_signature"
    assert Event.objects.filter(id="evt_test_signature").exists()


def test_unknown_endpoint_is_404(client, db):
    response = client.post(
        "/stripe/webhook/00000000-0000-0000-0000-000000000000/", data="{}", content_type="application/json"
    )
    assert response.status_code == 404


def test_stripe_setup_is_idempotent(db, stripe_emulator):
    first = stripe_setup(site_url="http://testserver")
    second = stripe_setup(site_url="http://testserver")
    assert all(r.created for r in first)
    assert not any(r.created for r in second)
    assert [r.url for r in first] == [r.url for r in second]
    assert WebhookEndpoint.objects.count() == 2
    assert all(e.secret.startswith("whsec_") for e in WebhookEndpoint.objects.all())


# --- Idempotency ------------------------------------------------------------------------------


def test_same_key_same_request_charges_once(db, stripe_emulator):
    first = _pi("holdfast:test:idem:1")
    again = _pi("holdfast:test:idem:1")
    assert first.id == again.id
    platform = stripe_gateway.balance_retrieve()
    pending = sum(b.amount for b in platform.pending if b.currency == "usd")
    fee = (10500 * 29 + 500) // 1000 + 30  # 2.9 % + 30, half up
    assert pending == 10500 - fee  # one charge, not two


def test_same_key_different_request_is_refused(db, stripe_emulator):
    _pi("holdfast:test:idem:2")
    with pytest.raises(PaymentError) as exc:
        _pi("holdfast:test:idem:2", amount="99.00")
    assert exc.value.code == "idempotency_conflict"


# --- Declines and 3-D Secure ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "decline_code"),
    [("pm_card_chargeDeclined", "generic_decline"), ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")],
)
def test_declines_become_clear_errors(db, stripe_emulator, card, decline_code):
    with pytest.raises(PaymentError) as exc:
        _pi(f"holdfast:test:decline:{card}", pm=card)
    assert exc.value.code == "card_declined"
    assert exc.value.details["decline_code"] == decline_code
    assert "declined" in exc.value.message
    pi = stripe_gateway.payment_intent_retrieve(exc.value.details["payment_intent"])
    assert pi.status == "requires_payment_method"


@pytest.mark.parametrize(("outcome", "status"), [("complete", "succeeded"), ("fail", "requires_payment_method")])
def test_three_d_secure(db, stripe_emulator, outcome, status):
    pi = _pi(f"holdfast:test:3ds:{outcome}", pm="pm_card_authenticationRequired")
    assert pi.status == "requires_action"
    redirect = pi.next_action.redirect_to_url.url
    assert redirect.startswith(stripe_emulator.url)
    requests.post(
        f"{stripe_emulator.url}/emulator/payment_intents/{pi.id}/authenticate", data={"outcome": outcome}, timeout=5
    )
    assert stripe_gateway.payment_intent_retrieve(pi.id).status == status


# --- Balances ----------------------------------------------------------------------------------


def test_transfer_without_source_needs_available_balance(db, stripe_emulator):
    account = stripe_gateway.connected_account_create(user_id=7, email="t@example.com")
    requests.post(f"{stripe_emulator.url}/emulator/accounts/{account.id}/complete_onboarding", timeout=5)
    pi = _pi("holdfast:test:bal:1")
    with pytest.raises(PaymentError) as exc:
        stripe_gateway.transfer_create(
            amount=Money(Decimal("50.00"), USD), destination=account.id, key="holdfast:test:tr:1"
        )
    assert exc.value.code == "stripe_balance_insufficient"
    # Tied to the charge, the same transfer goes through while the funds are still pending.
    transfer = stripe_gateway.transfer_create(
        amount=Money(Decimal("50.00"), USD),
        destination=account.id,
        key="holdfast:test:tr:2",
        source_transaction=pi.latest_charge,
    )
    assert transfer.amount == 5000
    connected = stripe_gateway.balance_retrieve(account_id=account.id)
    assert sum(b.amount for b in connected.pending + connected.available if b.currency == "usd") == 5000


def test_over_refund_is_refused(db, stripe_emulator):
    pi = _pi("holdfast:test:refund:1", amount="20.00")
    stripe_gateway.refund_create(payment_intent_id=pi.id, amount=Money(Decimal("15.00"), USD), key="holdfast:test:re:1")
    with pytest.raises(PaymentError):
        stripe_gateway.refund_create(
            payment_intent_id=pi.id, amount=Money(Decimal("10.00"), USD), key="holdfast:test:re:2"
        )
    assert stripe_gateway.charge_retrieve(pi.latest_charge).amount_refunded == 1500


def test_minor_units_know_zero_decimal_currencies():
    assert to_minor_units(Decimal("12.34"), "USD") == 1234
    assert to_minor_units(Decimal("1234"), "JPY") == 1234
    with pytest.raises(ValueError):
        to_minor_units(Decimal("12.345"), "USD")


def test_unreachable_stripe_is_a_clear_error(db, settings):
    settings.STRIPE_EMULATOR_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(stripe_gateway.PaymentProviderUnavailable) as exc:
        stripe_gateway.payment_intent_retrieve("pi_missing")
    assert exc.value.code == "payment_provider_unavailable"
