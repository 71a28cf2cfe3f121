"""Pages built by different apps say the same thing: what a wallet can do for whom."""

import pytest
from django.urls import reverse

from accounts.tests.factories import ClientFactory, TaskerFactory

pytestmark = pytest.mark.django_db


def _wallet_text(client, user) -> str:
    client.force_login(user)
    page = client.get(reverse("wallets:wallet"))
    assert page.status_code == 200
    return page.content.decode()


def test_a_clients_wallet_does_not_promise_payouts_get_paid_refuses(client):
    """Get paid tells a client that payouts are for taskers; the wallet must not offer them one."""
    text = _wallet_text(client, ClientFactory())
    assert "paid out to your bank" not in text and "can be paid out" not in text
    assert "go back to the card that paid it" in text
    assert f'<a href="{reverse("payments:top_up_new")}">your top-ups</a>' in text  # where the withdraw button is


def test_a_taskers_wallet_points_to_get_paid(client):
    text = _wallet_text(client, TaskerFactory())
    assert "paid out to your bank from" in text and reverse("payouts:get_paid") in text
    assert "can be paid out from then on" in text
