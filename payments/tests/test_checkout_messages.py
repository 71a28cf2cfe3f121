"""The checkout and escrow pages say each thing once: a decline, a failed 3-D Secure check, a check asked for."""

import re
import urllib.parse
import urllib.request

import pytest
from django.test import Client
from django.urls import reverse

from payments.models import EscrowEvent
from payments.tests.escrow_helpers import accepted_escrow

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

AUTH_FAILED = "The card&#x27;s authentication (3-D Secure) failed."


def _pay(client, escrow, card):
    return client.post(reverse("payments:checkout_confirm", args=[escrow.pk]), {"payment_method": card})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _bank_page(url: str, action: str) -> str:
    """The emulator's 3-D Secure page, answered as the client would; returns where it sends them back."""
    data = urllib.parse.urlencode({"action": action}).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(urllib.request.Request(url, data=data, method="POST"))
    except urllib.error.HTTPError as exc:  # the 302 back to Holdfast
        return exc.headers["Location"]
    raise AssertionError("the bank's page did not send the client back")


def test_a_decline_is_said_once_on_the_checkout_page(client):
    escrow = accepted_escrow()
    client.force_login(escrow.client)
    response = _pay(client, escrow, "pm_card_chargeDeclinedInsufficientFunds")
    body = client.get(response["Location"]).content.decode()
    assert body.count("declined for insufficient funds") == 1
    assert body.count('role="alert"') == 1 and "You can try again below." in body
    assert "Payment failed" in body  # the timeline still has the attempt, without a second copy

    # The escrow page (and the task page) say it once too.
    for url in (reverse("payments:escrow_detail", args=[escrow.pk]), escrow.task.get_absolute_url()):
        assert client.get(url).content.decode().count("declined for insufficient funds") == 1


def test_a_failed_3d_secure_check_says_why_when_the_client_comes_back(client):
    escrow = accepted_escrow()
    client.force_login(escrow.client)
    bank = _pay(client, escrow, "pm_card_authenticationRequired")["Location"]
    back = _bank_page(bank, "fail")
    assert back.startswith(f"http://testserver{reverse('payments:escrow_detail', args=[escrow.pk])}")

    # Stripe's webhook has not been processed yet: the page asks Stripe and says why.
    body = client.get(back).content.decode()
    assert "Awaiting payment" in body and AUTH_FAILED in body and "Try again" in body
    assert body.count("Card authentication required") == 1
    checkout = client.get(reverse("payments:checkout", args=[escrow.pk])).content.decode()
    assert checkout.count(AUTH_FAILED) == 1 and "Try again: pay" in checkout

    # A second go with the same card asks for the check again: still one line until an outcome.
    _pay(client, escrow, "pm_card_authenticationRequired")
    _pay(client, escrow, "pm_card_authenticationRequired")
    assert escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_ACTION_REQUIRED).count() == 3
    body = client.get(reverse("payments:escrow_detail", args=[escrow.pk])).content.decode()
    assert body.count("Card authentication required") == 1


def test_the_tasker_is_not_told_about_the_clients_3d_secure_failure(client):
    escrow = accepted_escrow()
    client.force_login(escrow.client)
    _bank_page(_pay(client, escrow, "pm_card_authenticationRequired")["Location"], "fail")
    tasker = Client()
    tasker.force_login(escrow.tasker)
    body = tasker.get(reverse("payments:escrow_detail", args=[escrow.pk])).content.decode()
    assert "3-D Secure" not in body and not re.search(r"role=\"alert\"", body)
