"""A tasker gets paid: sets up payouts on Stripe's (the emulator's) onboarding page, comes back
ready, requests a payout of part of the wallet and follows it to the bank; on a phone too."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import TaskerFactory
from e2e.conftest import PHONE
from payouts.models import Payout
from payouts.tests.helpers import earn, platform_funds_available
from wallets.selectors import ledger_invariant_violations, wallet_balances

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_tasker_onboards_with_stripe_and_requests_a_payout(browsing, stripe_emulator, settings):
    settings.PAYOUT_FIRST_NEEDS_APPROVAL = False
    tasker = TaskerFactory()
    earn(tasker, "100.00")  # 80.00 in the wallet
    platform_funds_available(stripe_emulator)

    page = browsing.page("tasker", user=tasker)
    page.goto("/wallet/")
    with page.expect_navigation():
        page.get_by_role("link", name="Get paid").first.click()
    with page.expect_navigation():
        page.locator("#start-onboarding").click()
    expect(page.locator("h1")).to_contain_text("Stripe Connect onboarding")  # the emulator's hosted page
    with page.expect_navigation(url=re.compile(r"/payouts/")):
        page.locator("#complete").click()
    expect(page.locator(".messages")).to_contain_text("Your payout account is ready")
    expect(page.locator(".payout-account")).to_contain_text("STRIPE TEST BANK ····6789")
    expect(page.locator(".payout-options")).to_contain_text("80.00 USD")

    page.locator("#id_amount").fill("30.00")
    with page.expect_navigation(url=re.compile(r"/payouts/\d+/")):
        page.locator("#request-payout").click()
    expect(page.locator("#payout-status")).to_have_text(re.compile("On its way to the bank|Processing"))
    expect(page.locator(".payout-statement")).to_contain_text("30.00 USD")

    payout = Payout.objects.get(tasker=tasker)
    assert payout.net == Decimal("30.00")
    assert next(b.available for b in wallet_balances(user=tasker) if b.currency == "USD") == Decimal("50.00")

    phone = browsing.page("phone", user=tasker, viewport=PHONE)
    for path in ("/payouts/", f"/payouts/{payout.pk}/"):
        phone.goto(path)
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"
    assert ledger_invariant_violations() == []
