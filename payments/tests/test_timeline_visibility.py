"""Each party sees only its own side of the payment timeline: the client's card is the client's business."""

import pytest
from django.test import Client
from django.urls import reverse

from payments.models import EscrowEvent
from payments.selectors import escrow_timeline
from payments.tests.escrow_helpers import accepted_escrow

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

DECLINE = "declined for insufficient funds"


def _declined_then_3ds(client):
    escrow = accepted_escrow()
    client.force_login(escrow.client)
    confirm = reverse("payments:checkout_confirm", args=[escrow.pk])
    client.post(confirm, {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"})
    client.post(confirm, {"payment_method": "pm_card_authenticationRequired"})
    escrow.refresh_from_db()
    failed = escrow.events.get(kind=EscrowEvent.Kind.PAYMENT_FAILED)
    assert DECLINE in failed.reason
    assert escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_ACTION_REQUIRED).exists()
    return escrow


def test_the_tasker_does_not_see_the_clients_card_failures_on_the_pages(client):
    escrow = _declined_then_3ds(client)
    pages = [escrow.task.get_absolute_url(), reverse("payments:escrow_detail", args=[escrow.pk])]

    tasker = Client()  # a browser of its own (the client's flash messages stay in the client's)
    tasker.force_login(escrow.tasker)
    for url in pages:
        body = tasker.get(url).content.decode()
        assert "Awaiting payment" in body
        assert DECLINE not in body and "ch_" not in body
        assert "Payment failed" not in body and "Card authentication required" not in body

    client.force_login(escrow.client)
    body = client.get(pages[1]).content.decode()
    assert DECLINE in body and "Payment failed" in body and "Card authentication required" in body


def test_the_tasker_does_not_see_the_clients_card_failures_in_the_api(client, api_client):
    escrow = _declined_then_3ds(client)
    url = f"/api/v1/escrows/{escrow.pk}/"

    api_client.force_authenticate(escrow.tasker)
    tasker_view = api_client.get(url).json()
    kinds = [event["kind"] for event in tasker_view["timeline"]]
    assert kinds and "payment_failed" not in kinds and "payment_action_required" not in kinds
    assert DECLINE not in str(tasker_view) and "ch_" not in str(tasker_view)

    api_client.force_authenticate(escrow.client)
    client_kinds = [event["kind"] for event in api_client.get(url).json()["timeline"]]
    assert "payment_failed" in client_kinds and "payment_action_required" in client_kinds


def test_staff_see_the_whole_timeline(client):
    escrow = _declined_then_3ds(client)
    kinds = set(escrow_timeline(escrow=escrow).values_list("kind", flat=True))
    assert {EscrowEvent.Kind.PAYMENT_FAILED, EscrowEvent.Kind.PAYMENT_ACTION_REQUIRED} <= kinds
