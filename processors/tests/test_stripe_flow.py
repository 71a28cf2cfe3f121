"""The whole Connect money flow through Holdfast's Stripe boundary, against the emulator over HTTP,
with every webhook delivered to the app's endpoint, verified and mirrored by dj-stripe."""

from decimal import Decimal

import pytest
import requests
from djmoney.money import Money
from djstripe import models as djstripe_models

from processors.models import WebhookEvent
from processors.stripe import gateway as stripe_gateway
from processors.stripe.setup import stripe_setup

pytestmark = pytest.mark.django_db(transaction=True)


def _complete_onboarding(emulator, account_id, bank="btok_us_verified"):
    response = requests.post(
        f"{emulator.url}/emulator/accounts/{account_id}/complete_onboarding", data={"external_account": bank}, timeout=5
    )
    assert response.status_code == 200, response.text


def _id(value):
    # dj-stripe may store a related object expanded where the API returned its id.
    return value.get("id") if isinstance(value, dict) else value


def test_connect_flow_end_to_end(stripe_emulator, live_server):
    endpoints = stripe_setup(site_url=live_server.url)
    assert {e.role for e in endpoints} == {"platform", "connect"}

    # Onboard two taskers; the second one's bank account will refuse payouts.
    good = stripe_gateway.connected_account_create(user_id=1, email="t1@example.com")
    bad = stripe_gateway.connected_account_create(user_id=2, email="t2@example.com")
    link = stripe_gateway.account_link_create(account_id=good.id, refresh_url="http://x/r", return_url="http://x/ok")
    assert link.url.startswith(stripe_emulator.url)
    _complete_onboarding(stripe_emulator, good.id)
    _complete_onboarding(stripe_emulator, bad.id, bank="btok_us_verified_accountClosed")
    assert stripe_gateway.connected_account_retrieve(good.id).payouts_enabled is True

    # Fund: a PaymentIntent on the platform, captured at once.
    pi = stripe_gateway.payment_intent_create(
        amount=Money(Decimal("105.00"), "USD"),
        key="holdfast:test:pi:1",
        transfer_group="escrow-1",
        metadata={"escrow_id": "1"},
        payment_method="pm_card_visa",
        confirm=True,
    )
    assert pi.status == "succeeded"
    charge_id = pi.latest_charge

    # Pay the tasker from that charge's funds, then refund the client a part.
    transfer = stripe_gateway.transfer_create(
        amount=Money(Decimal("40.00"), "USD"),
        destination=good.id,
        key="holdfast:test:transfer:1",
        transfer_group="escrow-1",
        source_transaction=charge_id,
    )
    refund = stripe_gateway.refund_create(
        payment_intent_id=pi.id, amount=Money(Decimal("25.00"), "USD"), key="holdfast:test:refund:1"
    )
    assert refund.status == "succeeded"

    # The bad account gets money too so its payout can fail at the bank.
    stripe_gateway.transfer_create(
        amount=Money(Decimal("20.00"), "USD"),
        destination=bad.id,
        key="holdfast:test:transfer:2",
        source_transaction=charge_id,
    )
    stripe_emulator.advance_clock(2 * 86400)  # charge funds become available
    paid = stripe_gateway.payout_create(
        account_id=good.id, amount=Money(Decimal("40.00"), "USD"), key="holdfast:test:po:1"
    )
    failed = stripe_gateway.payout_create(
        account_id=bad.id, amount=Money(Decimal("20.00"), "USD"), key="holdfast:test:po:2"
    )
    stripe_emulator.advance_clock(3 * 86400)  # payouts arrive (or bounce)
    assert stripe_gateway.payout_retrieve(account_id=good.id, payout_id=paid.id).status == "paid"
    bounced = stripe_gateway.payout_retrieve(account_id=bad.id, payout_id=failed.id)
    assert bounced.status == "failed" and bounced.failure_code == "account_closed"

    # A disputed charge, argued and lost.
    disputed = stripe_gateway.payment_intent_create(
        amount=Money(Decimal("50.00"), "USD"),
        key="holdfast:test:pi:2",
        transfer_group="escrow-2",
        metadata={"escrow_id": "2"},
        payment_method="pm_card_createDispute",
        confirm=True,
    )
    assert stripe_gateway.charge_retrieve(disputed.latest_charge).disputed is True
    dispute_id = stripe_gateway.dispute_for_charge(disputed.latest_charge).id
    lost = stripe_gateway.dispute_submit_evidence(
        dispute_id=dispute_id, evidence={"uncategorized_text": "losing_evidence"}, key="holdfast:test:dispute:1"
    )
    assert lost.status == "lost"

    assert stripe_emulator.wait_for_deliveries(timeout=30)
    deliveries = requests.get(f"{stripe_emulator.url}/emulator/deliveries", timeout=5).json()["data"]
    assert deliveries, "the emulator delivered events"
    assert all(d["status_codes"] == [200] for d in deliveries), [d for d in deliveries if d["status_codes"] != [200]][
        :3
    ]

    # Every event passed the signature check, was stored once, processed cleanly (mirrored by
    # dj-stripe in the Celery task, not in the request) and reached dj-stripe once.
    event_ids = {d["event_id"] for d in deliveries}
    stored = WebhookEvent.objects.all()
    assert set(stored.values_list("event_id", flat=True)) == event_ids
    assert sum(stored.values_list("deliveries", flat=True)) == len(deliveries)
    assert all(e.processed_at and e.mirrored_at and not e.outcome for e in stored), [
        (e.type, e.outcome) for e in stored if e.outcome
    ]
    assert set(djstripe_models.Event.objects.values_list("id", flat=True)) == event_ids
    types = set(djstripe_models.Event.objects.values_list("type", flat=True))
    for expected in (
        "account.updated",
        "payment_intent.succeeded",
        "charge.refunded",
        "transfer.created",
        "payout.paid",
        "payout.failed",
        "charge.dispute.created",
        "charge.dispute.closed",
    ):
        assert expected in types, expected

    # The dj-stripe mirror agrees with the emulator's objects as they are now.
    live_objects = [
        (djstripe_models.PaymentIntent, stripe_gateway.payment_intent_retrieve(pi.id)),
        (djstripe_models.Charge, stripe_gateway.charge_retrieve(charge_id)),
        (djstripe_models.Transfer, transfer),
        (djstripe_models.Payout, stripe_gateway.payout_retrieve(account_id=good.id, payout_id=paid.id)),
        (djstripe_models.Payout, bounced),
        (djstripe_models.Dispute, stripe_gateway.dispute_retrieve(dispute_id)),
        (djstripe_models.Account, stripe_gateway.connected_account_retrieve(good.id)),
    ]
    compared = (
        "status",
        "amount",
        "amount_refunded",
        "refunded",
        "currency",
        "failure_code",
        "payouts_enabled",
        "destination",
    )
    for model, live in live_objects:
        mirror = model.objects.get(id=live.id).stripe_data
        for field in compared:
            if field in live:
                assert _id(mirror.get(field)) == _id(live[field]), (
                    model.__name__,
                    field,
                    mirror.get(field),
                    live[field],
                )
    assert djstripe_models.Charge.objects.get(id=charge_id).stripe_data["amount_refunded"] == 2500
    assert djstripe_models.Dispute.objects.get(id=dispute_id).stripe_data["status"] == "lost"
    assert djstripe_models.Payout.objects.get(id=failed.id).stripe_data["status"] == "failed"
