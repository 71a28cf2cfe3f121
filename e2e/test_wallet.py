"""A client in the browser: saves a card (the bank asks for 3-D Secure), tops up the wallet with it,
pays a task from the wallet in one click, and sends what is left back to the card."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import ClientFactory
from e2e.conftest import wait_for
from payments.models import Escrow, WalletTopUp
from payments.tests.factories import escrow_awaiting_payment
from processors.stripe.setup import stripe_setup
from wallets.models import LedgerAccount
from wallets.selectors import ledger_invariant_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _balance(user) -> Decimal:
    account = LedgerAccount.objects.filter(kind="user_wallet", user=user, currency="USD").first()
    return account.balance if account else Decimal("0.00")


def _submit(page, button) -> None:
    with page.expect_navigation():
        button.click()


def _authenticate(page) -> None:
    expect(page).to_have_url(re.compile(r"/emulator/3ds/"))
    _submit(page, page.get_by_role("button", name=re.compile("complete authentication", re.I)))


def test_save_a_card_top_up_pay_from_the_wallet_and_withdraw(browsing, stripe_emulator, live_server):
    stripe_setup(site_url=live_server.url)
    user = ClientFactory()
    page = browsing.page("client", user=user)

    page.goto("/payments/cards/")
    expect(page.get_by_text("No saved cards yet")).to_be_visible()
    page.locator("input[name=payment_method][value=pm_card_authenticationRequired]").check()
    _submit(page, page.get_by_role("button", name=re.compile("save card", re.I)))
    _authenticate(page)
    expect(page).to_have_url(re.compile(r"/payments/cards/$"))
    expect(page.get_by_text("Card saved.")).to_be_visible()
    expect(page.locator("table.cards")).to_contain_text("•••• 3184")
    expect(page.locator("table.cards")).to_contain_text("Default")

    page.goto("/wallet/")
    _submit(page, page.get_by_role("link", name="Top up"))
    page.locator("input[name=amount]").fill("150.00")
    _submit(page, page.get_by_role("button", name=re.compile("continue to payment", re.I)))
    top_up = WalletTopUp.objects.get(client=user)
    expect(page).to_have_url(re.compile(rf"/payments/top-ups/{top_up.pk}/"))
    expect(page.locator("input[name=payment_method]").first).to_be_checked()  # the default card, first
    _submit(page, page.get_by_role("button", name=re.compile(r"pay 150\.00", re.I)))
    _authenticate(page)  # a saved card still asks the bank when the bank wants it
    assert stripe_emulator.wait_for_deliveries(timeout=30)
    wait_for(lambda: _balance(user) == Decimal("150.00"), message="the top-up's webhook")
    page.reload()
    expect(page.get_by_text("is in your wallet")).to_be_visible()

    escrow = escrow_awaiting_payment(amount="100.00", client=user)
    page.goto(f"/payments/escrows/{escrow.pk}/checkout/")
    _submit(page, page.get_by_role("button", name=re.compile("from your wallet", re.I)))
    expect(page.get_by_text("Paid from your wallet")).to_be_visible()
    assert Escrow.objects.get(pk=escrow.pk).status == Escrow.Status.FUNDED
    assert _balance(user) == Decimal("45.00")

    page.goto("/payments/top-up/")
    _submit(page, page.locator(".withdraw-form").get_by_role("button", name="Withdraw"))
    expect(page.get_by_text("Sent back to the card that paid this top-up.")).to_be_visible()
    assert _balance(user) == Decimal("0.00")

    page.goto("/wallet/")
    statement = page.locator("table.statement")
    for label in ("Wallet top-up", "Paid from wallet", "Withdrawn to card"):
        expect(statement).to_contain_text(label)
    expect(statement).to_contain_text(f"Top-up #{top_up.pk}")
    assert ledger_invariant_violations() == []
