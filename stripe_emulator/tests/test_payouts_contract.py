"""The objects the payout flows use, in Stripe's shapes: login links, capabilities, external
accounts, payout schedule settings, payout update/cancel, reversals, and the rate-limit knob."""

import time

import pytest
import stripe

from .conftest import emu
from .test_contract import check, declared_fields


def test_account_settings_blocks_and_manual_payout_schedule(client):
    acct = client.v1.accounts.create(
        params={"type": "express", "settings": {"payouts": {"schedule": {"interval": "manual"}}}}
    )
    data = check(acct, stripe.Account, "account", "acct")
    settings = data["settings"]
    assert declared_fields(stripe.Account.Settings.Branding) <= set(settings["branding"])
    assert declared_fields(stripe.Account.Settings.CardPayments) <= set(settings["card_payments"])
    assert settings["payouts"]["schedule"]["interval"] == "manual"

    weekly = client.v1.accounts.update(
        acct.id, params={"settings": {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "friday"}}}}
    )
    assert weekly.settings.payouts.schedule.interval == "weekly"
    assert weekly.settings.payouts.schedule.weekly_anchor == "friday"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.accounts.update(acct.id, params={"settings": {"payouts": {"schedule": {"interval": "hourly"}}}})
    assert refused.value.param == "settings[payouts][schedule][interval]"


def test_login_link_only_after_onboarding(client, onboarded):
    fresh = client.v1.accounts.create(params={"type": "express"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.login_links.create(fresh.id)
    acct = onboarded()
    link = client.v1.accounts.login_links.create(acct.id)
    check(link, stripe.LoginLink, "login_link")
    page = emu_get(link.url)
    assert page.status_code == 200 and acct.id in page.text


def emu_get(url):
    import requests

    return requests.get(url, timeout=10)


def test_capabilities_list_and_retrieve(client, onboarded):
    pending = client.v1.accounts.create(params={"type": "express"})
    listed = client.v1.accounts.capabilities.list(pending.id)
    assert {c.id for c in listed.data} == {"card_payments", "transfers"}
    transfers = check(
        client.v1.accounts.capabilities.retrieve(pending.id, "transfers"), stripe.Capability, "capability"
    )
    assert transfers["status"] == "inactive" and transfers["requirements"]["currently_due"]
    acct = onboarded()
    active = client.v1.accounts.capabilities.retrieve(acct.id, "transfers")
    assert active.status == "active" and active.requirements.currently_due == []


def test_external_accounts_update_and_delete(client, onboarded):
    acct = onboarded()
    first = client.v1.accounts.external_accounts.list(acct.id).data[0]
    second = client.v1.accounts.external_accounts.create(acct.id, params={"external_account": "btok_us_verified"})
    check(second, stripe.BankAccount, "bank_account", "ba")
    assert second.default_for_currency is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.external_accounts.delete(acct.id, second.id)  # the default cannot go
    made_default = client.v1.accounts.external_accounts.update(
        acct.id, first.id, params={"default_for_currency": True, "metadata": {"label": "main"}}
    )
    assert made_default.default_for_currency is True and made_default.metadata["label"] == "main"
    deleted = client.v1.accounts.external_accounts.delete(acct.id, second.id)
    assert deleted.deleted is True
    assert [b.id for b in client.v1.accounts.external_accounts.list(acct.id).data] == [first.id]


def test_transfer_destination_payment_reversal_retrieve_payout_update_and_cancel(client, srv, onboarded):
    acct = onboarded()
    client.v1.payment_intents.create(
        params={"amount": 10000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    srv.advance_clock(3 * 86400)
    transfer = client.v1.transfers.create(params={"amount": 3000, "currency": "usd", "destination": acct.id})
    assert transfer.destination_payment.startswith("py_")
    reversal = client.v1.transfers.reversals.create(transfer.id, params={"amount": 500})
    fetched = client.v1.transfers.reversals.retrieve(transfer.id, reversal.id)
    check(fetched, stripe.Reversal, "transfer_reversal", "trr")
    payout = client.v1.payouts.create(params={"amount": 1000, "currency": "usd"}, options={"stripe_account": acct.id})
    updated = client.v1.payouts.update(
        payout.id, params={"metadata": {"holdfast_payout_id": "7"}}, options={"stripe_account": acct.id}
    )
    check(updated, stripe.Payout, "payout", "po")
    assert updated.metadata["holdfast_payout_id"] == "7"
    cancelled = client.v1.payouts.cancel(payout.id, options={"stripe_account": acct.id})
    assert cancelled.status == "canceled"


def test_rate_limit_knob_answers_stripes_429(client, srv):
    state = emu(srv, "POST", "/emulator/rate_limit", per_second="3").json()
    assert state["per_second"] == 3
    try:
        for i in range(3):
            client.v1.customers.create(params={"email": f"c{i}@example.com"})
        with pytest.raises(stripe.RateLimitError) as limited:
            client.v1.customers.create(params={"email": "over@example.com"})
        assert limited.value.http_status == 429 and limited.value.error.code == "rate_limit"
        client.v1.customers.list()  # reads are not counted with scope=writes
        time.sleep(1.05)
        client.v1.customers.create(params={"email": "later@example.com"})  # the window moved on
        assert emu(srv, "GET", "/emulator/rate_limit").json()["refused"] == 1
    finally:
        emu(srv, "POST", "/emulator/rate_limit", per_second="0")
