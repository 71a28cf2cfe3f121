"""The Get paid pages, the API and the payout console, end to end on the emulator."""

from decimal import Decimal

import pytest
import requests
from django.urls import reverse

from accounts.tests.factories import ClientFactory, TaskerFactory
from payouts import services
from payouts.models import Payout, PayoutAccount
from payouts.tests.helpers import (
    emulator,
    finance_user,
    platform_funds_available,
    support_user,
    tasker_earning,
)
from wallets.selectors import wallet_balances

pytestmark = pytest.mark.django_db


def _available(tasker) -> Decimal:
    return next(b.available for b in wallet_balances(user=tasker) if b.currency == "USD")


def test_get_paid_page_onboards_through_stripe_and_comes_back_ready(payouts_world, client):
    tasker = TaskerFactory()
    client.force_login(tasker)
    page = client.get(reverse("payouts:get_paid")).content.decode()
    assert "Set up payouts with Stripe" in page

    response = client.post(reverse("payouts:onboarding_start"))
    assert response.status_code == 302 and "/emulator/onboarding/" in response["Location"]
    account = PayoutAccount.objects.get(user=tasker)
    page = client.get(reverse("payouts:get_paid")).content.decode()
    assert "Stripe still needs" in page and "The bank account your payouts go to" in page

    # The emulator's hosted onboarding page, completed, sends the tasker back to the return URL.
    back = requests.post(response["Location"], data={"action": "complete"}, allow_redirects=False, timeout=10)
    assert back.status_code == 303 and back.headers["Location"].endswith(reverse("payouts:onboarding_return"))
    response = client.get(reverse("payouts:onboarding_return"), follow=True)
    page = response.content.decode()
    assert "Your payout account is ready" in page and "STRIPE TEST BANK ····6789" in page
    account.refresh_from_db()
    assert account.can_receive_payouts

    dashboard = client.post(reverse("payouts:dashboard"))
    assert "/emulator/express/" in dashboard["Location"]


def test_expired_onboarding_link_makes_a_new_one(payouts_world, client):
    tasker = TaskerFactory()
    client.force_login(tasker)
    first = client.post(reverse("payouts:onboarding_start"))["Location"]
    payouts_world.advance_clock(600)  # links live five minutes
    expired = requests.get(first, allow_redirects=False, timeout=10)
    assert expired.status_code == 303 and expired.headers["Location"].endswith(reverse("payouts:onboarding_refresh"))
    fresh = client.get(reverse("payouts:onboarding_refresh"))
    assert "/emulator/onboarding/" in fresh["Location"] and fresh["Location"] != first


def test_requesting_on_the_page_shows_the_payout_with_its_statement(
    payouts_world, client, django_capture_on_commit_callbacks
):
    tasker = tasker_earning("100.00")
    platform_funds_available(payouts_world)
    client.force_login(tasker)
    page = client.get(reverse("payouts:get_paid")).content.decode()
    assert "80.00 USD" in page and "Request payout" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("payouts:request"), {"amount": "25.00", "currency": "USD"})
    payout = Payout.objects.get(tasker=tasker)
    assert response["Location"] == reverse("payouts:detail", args=[payout.pk])
    page = client.get(response["Location"]).content.decode()
    assert "On its way to the bank" in page and "Where the money came from" in page
    assert "25.00 USD" in page
    assert _available(tasker) == Decimal("55.00")

    refused = client.post(reverse("payouts:request"), {"amount": "5", "currency": "USD"}, follow=True)
    assert "The smallest payout is 10.00 USD." in refused.content.decode()

    wallet = client.get(reverse("wallets:wallet")).content.decode()
    assert reverse("payouts:get_paid") in wallet and f"Payout #{payout.pk}" in wallet


def test_schedule_form_saves_a_weekly_schedule(payouts_world, client):
    tasker = tasker_earning("100.00")
    client.force_login(tasker)
    client.post(reverse("payouts:schedule"), {"schedule": "weekly", "currency": "USD", "threshold": "50"})
    account = PayoutAccount.objects.get(user=tasker)
    assert account.schedule == "weekly" and account.schedule_threshold == Decimal("50.00")
    assert account.schedule_next_at is not None


def test_api_onboard_request_read_cancel(payouts_world, api_client):
    tasker = TaskerFactory()
    api_client.force_authenticate(tasker)
    assert api_client.get("/api/v1/payout-account/").status_code == 404
    link = api_client.post("/api/v1/payout-account/")
    assert link.status_code == 200 and "/emulator/onboarding/" in link.json()["url"]
    account = PayoutAccount.objects.get(user=tasker)
    emulator(f"/emulator/accounts/{account.reference}/complete_onboarding")
    body = api_client.get("/api/v1/payout-account/").json()
    assert body["status"] == "enabled" and body["bank_last4"] == "6789" and body["requirements"] == []

    from payouts.tests.helpers import earn

    earn(tasker, "100.00")
    options = api_client.get("/api/v1/payouts/options/").json()
    assert options["results"][0] == {
        "currency": "USD",
        "available": "80.00",
        "minimum": "10.00",
        "fee": "0.00",
        "can_request": True,
    }
    refused = api_client.post("/api/v1/payouts/", {"amount": "1,000", "currency": "USD"}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "amount_invalid"
    made = api_client.post("/api/v1/payouts/", {"amount": "30.00", "currency": "USD"}, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["amount"] == "30.00" and body["net"] == "30.00" and body["statement"][0]["amount"] == "30.00"
    assert [e["kind"] for e in body["events"]][0] == "requested"
    listed = api_client.get("/api/v1/payouts/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]

    cancelled = api_client.post(f"/api/v1/payouts/{body['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert _available(tasker) == Decimal("80.00")
    schedule = api_client.put(
        "/api/v1/payout-account/schedule/", {"schedule": "monthly", "threshold": "40"}, format="json"
    )
    assert schedule.status_code == 200 and schedule.json()["schedule"] == "monthly"


def test_a_client_is_told_payouts_are_for_taskers(payouts_world, client, api_client):
    someone = ClientFactory()
    client.force_login(someone)
    assert "Payouts are for taskers" in client.get(reverse("payouts:get_paid")).content.decode()
    api_client.force_authenticate(someone)
    refused = api_client.post("/api/v1/payout-account/")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_a_tasker"


def test_console_finance_approves_support_only_reads(payouts_world, client, django_capture_on_commit_callbacks):
    tasker = tasker_earning("100.00")
    platform_funds_available(payouts_world)
    from django.test import override_settings

    with override_settings(PAYOUT_FIRST_NEEDS_APPROVAL=True):
        payout = services.payout_request(tasker=tasker, amount="40.00", currency="USD")
    changelist = reverse("admin:payouts_payout_changelist")

    client.force_login(support_user())
    assert client.post(reverse("admin:payouts_reconciliationrun_run")).status_code == 403
    page = client.get(changelist + "?approval=yes")
    assert page.status_code == 200 and f"{payout.pk}" in page.content.decode()
    assert 'value="approve"' not in page.content.decode()  # Support reads, does not act
    detail = client.get(reverse("admin:payouts_payout_change", args=[payout.pk])).content.decode()
    assert "where the money came from" in detail.lower()

    client.force_login(finance_user())
    page = client.get(changelist).content.decode()
    assert 'value="approve"' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "approve", "_selected_action": [payout.pk]})
    payout.refresh_from_db()
    assert payout.status == Payout.Status.IN_TRANSIT

    for query in ["?status=in_transit", "?problem=failed", "?amount=0-100", "?age=1d", f"?q={tasker.email}"]:
        assert client.get(changelist + query).status_code == 200
    report = client.get(reverse("admin:payouts_reconciliationrun_changelist"))
    assert report.status_code == 200 and "Compare with Stripe now" in report.content.decode()
    ran = client.post(reverse("admin:payouts_reconciliationrun_run"), follow=True)
    assert "1 payout(s) checked" in ran.content.decode()


def test_console_hold_asks_for_a_reason_then_cancel_returns_money(payouts_world, client):
    tasker = tasker_earning("100.00")
    from django.test import override_settings

    with override_settings(PAYOUT_FIRST_NEEDS_APPROVAL=True):
        payout = services.payout_request(tasker=tasker, amount="40.00", currency="USD")
    client.force_login(finance_user())
    changelist = reverse("admin:payouts_payout_changelist")
    form = client.post(changelist, {"action": "hold", "_selected_action": [payout.pk]})
    assert "Hold payouts" in form.content.decode()
    client.post(changelist, {"action": "hold", "_selected_action": [payout.pk], "apply": "1", "reason": "Check ID"})
    payout.refresh_from_db()
    assert payout.status == Payout.Status.ON_HOLD and payout.hold_reason == "Check ID"
    client.post(changelist, {"action": "cancel", "_selected_action": [payout.pk], "apply": "1", "reason": "Refused"})
    payout.refresh_from_db()
    assert payout.status == Payout.Status.CANCELLED and _available(tasker) == Decimal("80.00")


def test_reconcile_command_reports(payouts_world, capsys):
    from django.core.management import call_command

    call_command("reconcile")
    assert "agree" in capsys.readouterr().out
