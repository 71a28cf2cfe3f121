"""Saved cards, top-ups, paying from the wallet and the payment sheet through the API and the pages:
the owner only (someone else's card or top-up is a 404), the one error shape, nothing moved on a refusal."""

from decimal import Decimal

import pytest

from accounts.tests.factories import ClientFactory
from payments import topups
from payments.escrow import escrow_fund_from_payment
from payments.models import Escrow, WalletTopUp
from payments.tests.factories import escrow_awaiting_payment
from wallets.models import LedgerAccount

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulated_escrows")]


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def _balance(user, currency="USD"):
    account = LedgerAccount.objects.filter(kind="user_wallet", user=user, currency=currency).first()
    return account.balance if account else Decimal("0.00")


def test_cards_top_ups_wallet_payment_and_withdrawal_through_the_api(api_client):
    client, other = ClientFactory(), ClientFactory()
    api_client.force_authenticate(client)
    assert api_client.get("/api/v1/cards/").json() == []

    setup = api_client.post("/api/v1/cards/setup/").json()
    assert setup["client_secret"].startswith(setup["setup_intent_id"]) and setup["customer"].startswith("cus_")
    saved = api_client.post(
        f"/api/v1/cards/setup/{setup['setup_intent_id']}/confirm/", {"payment_method": "pm_card_mastercard"}
    ).json()
    assert saved["status"] == "succeeded"
    listed = api_client.get("/api/v1/cards/").json()
    assert [(c["brand"], c["last4"], c["is_default"], c["expired"]) for c in listed] == [
        ("mastercard", "4444", True, False)
    ]
    card = listed[0]["id"]

    # Top up with the saved card, in one call each; the webhook task then funds it.
    bad = api_client.post("/api/v1/wallet/top-ups/", {"amount": "100.00", "currency": "JPY"})
    assert bad.status_code == 400
    too_little = api_client.post("/api/v1/wallet/top-ups/", {"amount": "1.00", "currency": "USD"})
    _error(too_little, 400, "top_up_below_minimum")
    created = api_client.post("/api/v1/wallet/top-ups/", {"amount": "150.00", "currency": "USD"})
    assert created.status_code == 201, created.content
    top_up_id = created.json()["top_up"]["id"]
    assert created.json()["client_secret"] and created.json()["publishable_key"]
    paid = api_client.post(f"/api/v1/wallet/top-ups/{top_up_id}/confirm/", {"payment_method": card})
    assert paid.json()["status"] == "succeeded"
    top_up = WalletTopUp.objects.get(pk=top_up_id)
    topups.top_up_fund_from_payment(payment_reference=top_up.payment.reference)
    assert api_client.get(f"/api/v1/wallet/top-ups/{top_up_id}/").json()["status"] == "succeeded"

    escrow = escrow_awaiting_payment(amount="100.00", client=client)
    funded = api_client.post(f"/api/v1/escrows/{escrow.pk}/fund-from-wallet/")
    assert funded.status_code == 200 and funded.json()["status"] == "funded"
    assert _balance(client) == Decimal("45.00")

    withdrawn = api_client.post(f"/api/v1/wallet/top-ups/{top_up_id}/withdraw/", {})
    assert withdrawn.json()["amount"] == "45.00" and withdrawn.json()["status"] == "succeeded"
    assert _balance(client) == Decimal("0.00")

    sheet = api_client.post("/api/v1/payment-sheet/", {}).json()
    assert sheet["customer"] == setup["customer"] and sheet["ephemeral_key"].startswith("ek_test_")
    assert sheet["setup_intent"] and sheet["payment_intent"] == "" and sheet["publishable_key"]
    other_escrow = escrow_awaiting_payment(client=client)
    sheet = api_client.post("/api/v1/payment-sheet/", {"escrow": other_escrow.pk}).json()
    assert sheet["payment_intent"].startswith("pi_") and sheet["setup_intent"] == ""

    # Someone else: the card, the top-up and the escrow do not exist for them; nothing moves.
    api_client.force_authenticate(other)
    _error(api_client.delete(f"/api/v1/cards/{card}/"), 404, "card_not_found")
    _error(api_client.post(f"/api/v1/cards/{card}/default/"), 404, "card_not_found")
    _error(api_client.get(f"/api/v1/wallet/top-ups/{top_up_id}/"), 404, "top_up_not_found")
    _error(api_client.post(f"/api/v1/wallet/top-ups/{top_up_id}/withdraw/", {}), 404, "top_up_not_found")
    _error(api_client.post(f"/api/v1/escrows/{other_escrow.pk}/fund-from-wallet/"), 404, "escrow_not_found")
    theirs = escrow_awaiting_payment(client=other)
    _error(api_client.post(f"/api/v1/escrows/{theirs.pk}/confirm/", {"payment_method": card}), 404, "card_not_found")
    _error(api_client.post(f"/api/v1/escrows/{theirs.pk}/fund-from-wallet/"), 409, "wallet_insufficient_funds")
    theirs.refresh_from_db()
    assert theirs.status == Escrow.Status.AWAITING_PAYMENT

    api_client.force_authenticate(client)
    assert api_client.delete(f"/api/v1/cards/{card}/").status_code == 204
    assert api_client.get("/api/v1/cards/").json() == []


def test_pages_save_a_card_top_up_pay_from_the_wallet_and_withdraw(client):
    user = ClientFactory()
    client.force_login(user)
    assert "No saved cards yet" in client.get("/payments/cards/").content.decode()
    response = client.post("/payments/cards/add/", {"payment_method": "pm_card_visa"})
    assert response.status_code == 302
    page = client.get("/payments/cards/").content.decode()
    assert "Visa •••• 4242" in page and "Default" in page

    # A 3-D Secure card is saved once the bank's page says yes.
    response = client.post("/payments/cards/add/", {"payment_method": "pm_card_authenticationRequired"})
    assert "/emulator/3ds/seti_" in response["Location"]

    response = client.post("/payments/top-up/", {"amount": "5", "currency": "USD"})
    assert "The smallest top-up is" in response.content.decode()
    response = client.post("/payments/top-up/", {"amount": "120.00", "currency": "USD"})
    top_up = WalletTopUp.objects.get(client=user)
    assert response["Location"] == f"/payments/top-ups/{top_up.pk}/"
    assert "Visa •••• 4242" in client.get(response["Location"]).content.decode()
    from payments.cards import cards_for_client

    card = cards_for_client(user=user)[0].reference
    client.post(f"/payments/top-ups/{top_up.pk}/confirm/", {"payment_method": card})
    top_up.refresh_from_db()
    topups.top_up_fund_from_payment(payment_reference=top_up.payment.reference)
    assert "is in your wallet" in client.get(f"/payments/top-ups/{top_up.pk}/").content.decode()

    escrow = escrow_awaiting_payment(amount="100.00", client=user)
    checkout = client.get(f"/payments/escrows/{escrow.pk}/checkout/").content.decode()
    assert "from your wallet" in checkout and "Save this card for later payments" in checkout
    client.post(f"/payments/escrows/{escrow.pk}/pay-from-wallet/")
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and _balance(user) == Decimal("15.00")

    client.post(f"/payments/top-ups/{top_up.pk}/withdraw/", {"amount": ""})
    assert _balance(user) == Decimal("0.00")
    wallet = client.get("/wallet/").content.decode()
    for label in ("Wallet top-up", "Paid from wallet", "Withdrawn to card"):
        assert label in wallet

    # Removing the card: gone from the list, and another client's card cannot be removed here.
    other = ClientFactory()
    client.force_login(other)
    assert client.post(f"/payments/cards/{card}/remove/").status_code == 404
    assert client.get(f"/payments/top-ups/{top_up.pk}/").status_code == 404
    client.force_login(user)
    client.post(f"/payments/cards/{card}/remove/")
    assert "•••• 4242" not in client.get("/payments/cards/").content.decode()


def test_a_card_payment_with_save_this_card_keeps_the_card(client):
    user = ClientFactory()
    client.force_login(user)
    escrow = escrow_awaiting_payment(client=user)
    client.post(f"/payments/escrows/{escrow.pk}/confirm/", {"payment_method": "pm_card_mastercard", "save_card": "on"})
    escrow.refresh_from_db()
    escrow_fund_from_payment(payment_reference=escrow.payment.reference)
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED
    assert "Mastercard •••• 4444" in client.get("/payments/cards/").content.decode()


def test_back_office_lists_top_ups_and_processor_customers(admin_client):
    user = ClientFactory()
    made = topups.top_up_create(client=user, amount="40.00", currency="USD")
    topups.top_up_payment_confirm(top_up=made, actor=user, payment_method="pm_card_visa", return_url="http://t/")
    made.refresh_from_db()
    topups.top_up_fund_from_payment(payment_reference=made.payment.reference)
    listing = admin_client.get("/admin/payments/wallettopup/")
    assert listing.status_code == 200 and str(user) in listing.content.decode()
    detail = admin_client.get(f"/admin/payments/wallettopup/{made.pk}/change/").content.decode()
    assert "Payment succeeded" in detail and made.payment.reference in detail
    customers = admin_client.get("/admin/processors/processorcustomer/").content.decode()
    assert user.processor_customers.get().reference in customers
    assert admin_client.get("/admin/payments/escrow/?funding_source=wallet").status_code == 200


def test_with_real_keys_the_pages_use_stripe_js_and_offer_saved_cards_in_one_click(client, settings, monkeypatch):
    import stripe

    from payments import cards
    from processors.stripe import gateway as stripe_gateway

    user = ClientFactory()
    setup = cards.card_setup_start(user=user)
    cards.card_setup_confirm(user=user, setup_reference=setup.reference, method="pm_card_visa", return_url="http://t/")
    card = cards.cards_for_client(user=user)[0].reference
    # Real-key mode for the pages; the SDK is still pointed at the emulator underneath.
    emulator_url = settings.STRIPE_EMULATOR_URL
    settings.STRIPE_EMULATED = False
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_real"
    configure = stripe_gateway.configure

    def configure_for_emulator():
        configure()
        stripe.api_base = emulator_url

    monkeypatch.setattr(stripe_gateway, "configure", configure_for_emulator)
    monkeypatch.setattr(stripe_gateway.mirror, "configure", configure_for_emulator)  # its dj-stripe sync
    client.force_login(user)

    cards_page = client.get("/payments/cards/").content.decode()
    assert "confirmSetup" in cards_page and "seti_" in cards_page and "pm_card_visa" not in cards_page
    assert client.post("/payments/cards/add/", {"payment_method": "pm_card_visa"}).status_code == 404

    escrow = escrow_awaiting_payment(client=user)
    checkout = client.get(f"/payments/escrows/{escrow.pk}/checkout/").content.decode()
    assert "Visa •••• 4242" in checkout and "confirmPayment" in checkout and "pm_card_mastercard" not in checkout
    refused = client.post(f"/payments/escrows/{escrow.pk}/confirm/", {"payment_method": "pm_card_visa"})
    assert refused.status_code == 302
    escrow.refresh_from_db()
    assert not escrow.payment or escrow.payment.kind == "payment_started"
    client.post(f"/payments/escrows/{escrow.pk}/confirm/", {"payment_method": card})
    escrow.refresh_from_db()
    escrow_fund_from_payment(payment_reference=escrow.payment.reference)
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED


def test_with_real_keys_save_this_card_marks_the_payment_before_stripe_js_confirms(client, settings, monkeypatch):
    import stripe

    from payments import cards
    from processors.stripe import gateway as stripe_gateway

    emulator_url = settings.STRIPE_EMULATOR_URL
    settings.STRIPE_EMULATED = False
    configure = stripe_gateway.configure

    def configure_for_emulator():
        configure()
        stripe.api_base = emulator_url

    monkeypatch.setattr(stripe_gateway, "configure", configure_for_emulator)
    monkeypatch.setattr(stripe_gateway.mirror, "configure", configure_for_emulator)  # its dj-stripe sync
    user = ClientFactory()
    client.force_login(user)
    escrow = escrow_awaiting_payment(client=user)
    page = client.get(f"/payments/escrows/{escrow.pk}/checkout/").content.decode()
    assert 'id="save-card"' in page and f"/payments/escrows/{escrow.pk}/save-card/" in page
    assert client.post(f"/payments/escrows/{escrow.pk}/save-card/").json() == {"saved": True}
    escrow.refresh_from_db()
    intent = stripe_gateway.payment_intent_retrieve(escrow.payment.reference)
    assert intent.setup_future_usage == "off_session" and intent.customer
    # What Stripe.js then does in the browser: confirm with the new card. It is kept for the client.
    stripe_gateway.payment_intent_confirm(intent.id, payment_method="pm_card_visa", key="test:browser-confirm")
    assert [c.last4 for c in cards.cards_for_client(user=user)] == ["4242"]
    # The top-up page does the same.
    made = topups.top_up_create(client=user, amount="30.00", currency="USD")
    page = client.get(f"/payments/top-ups/{made.pk}/").content.decode()
    assert 'id="save-card"' in page and "confirmPayment" in page
    assert client.post(f"/payments/top-ups/{made.pk}/save-card/").json() == {"saved": True}
    made.refresh_from_db()
    assert stripe_gateway.payment_intent_retrieve(made.payment.reference).setup_future_usage == "off_session"
    # Someone else's escrow or top-up: no such page.
    other = ClientFactory()
    client.force_login(other)
    assert client.post(f"/payments/escrows/{escrow.pk}/save-card/").status_code == 404
    assert client.post(f"/payments/top-ups/{made.pk}/save-card/").status_code == 404
