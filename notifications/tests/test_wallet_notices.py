"""The client hears when a top-up reaches the wallet and when unused money goes back to the card:
once each, even when the webhook and the delivery come twice. Real top-ups on the Stripe emulator."""

import pytest
from django.core import mail

from accounts.tests.factories import ClientFactory
from notifications.models import Notification
from notifications.tests.helpers import deliver_again, told
from payments import topups
from payments.events import WalletToppedUp, WalletWithdrawn
from wallets.selectors import ledger_invariant_violations

pytestmark = pytest.mark.django_db


def test_a_top_up_and_a_withdrawal_each_tell_the_client_once(stripe_emulator, on_commit, published):
    client = ClientFactory()
    other = ClientFactory()
    made = topups.top_up_create(client=client, amount="200.00", currency="USD")
    topups.top_up_payment_confirm(top_up=made, actor=client, payment_method="pm_card_visa", return_url="http://t/")
    made.refresh_from_db()
    with on_commit():
        topups.top_up_fund_from_payment(payment_reference=made.payment.reference)
        topups.top_up_fund_from_payment(payment_reference=made.payment.reference)  # the webhook twice
    deliver_again(published, WalletToppedUp)
    assert told("wallet_topped_up") == [(client.email, "200.00 USD added to your wallet")]
    assert Notification.objects.get(kind="wallet_topped_up").link == "/wallet/"

    made.refresh_from_db()
    with on_commit():
        topups.top_up_withdraw(top_up=made, actor=client, amount="50.00")
    deliver_again(published, WalletWithdrawn)
    assert told("wallet_withdrawn") == [(client.email, "50.00 USD sent back to your card")]
    assert sorted(m.subject for m in mail.outbox if m.to == [client.email]) == [
        "200.00 USD added to your wallet",
        "50.00 USD sent back to your card",
    ]
    assert not other.notifications.exists()
    assert ledger_invariant_violations() == []
