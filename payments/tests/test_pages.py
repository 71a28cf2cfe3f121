"""The checkout page with each emulator test card, and the escrow panel on the task page."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import ClientFactory, TaskerFactory
from marketplace.models import Task
from payments.escrow import escrow_fund_from_payment
from payments.models import Escrow, EscrowEvent
from payments.selectors import escrow_payment_error
from payments.tests.escrow_helpers import accepted_escrow, delivered_task, fund, funded_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def _checkout(escrow):
    return reverse("payments:checkout", args=[escrow.pk])


def _pay(client, escrow, card):
    return client.post(reverse("payments:checkout_confirm", args=[escrow.pk]), {"payment_method": card})


def test_checkout_shows_breakdown_and_the_test_cards(client):
    escrow = accepted_escrow()
    client.force_login(escrow.client)
    body = client.get(_checkout(escrow)).content.decode()
    assert "Agreed amount" in body and "100.00 USD" in body
    assert "Service fee" in body and "5.00 USD" in body
    assert "Total to pay" in body and "105.00 USD" in body
    assert "Awaiting payment" in body
    for value in (
        "pm_card_visa",
        "pm_card_mastercard",
        "pm_card_chargeDeclined",
        "pm_card_chargeDeclinedInsufficientFunds",
        "pm_card_authenticationRequired",
    ):
        assert f'value="{value}"' in body
    # The emulator needs no external script; Stripe.js is only for real keys.
    assert "js.stripe.com" not in body


@pytest.mark.parametrize("card", ["pm_card_visa", "pm_card_mastercard"])
def test_successful_card_redirects_to_the_task_and_funds_on_the_webhook(client, card):
    escrow = accepted_escrow()
    client.force_login(escrow.client)
    response = _pay(client, escrow, card)
    assert response.status_code == 302 and response["Location"] == escrow.task.get_absolute_url()
    page = client.get(response["Location"]).content.decode()
    assert "Payment received — confirming with the bank…" in page
    assert "Awaiting confirmation" in page
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT

    escrow_fund_from_payment(payment_reference=escrow.payment.reference)
    escrow.refresh_from_db()
    escrow.task.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.task.status == Task.Status.IN_PROGRESS
    page = client.get(escrow.task.get_absolute_url()).content.decode()
    assert "The payment is held in escrow" in page and "Pay now" not in page


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        ("pm_card_chargeDeclined", "The card was declined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "The card was declined for insufficient funds"),
    ],
)
def test_declined_card_shows_the_reason_and_offers_a_retry(client, card, reason):
    escrow = accepted_escrow()
    client.force_login(escrow.client)
    response = _pay(client, escrow, card)
    assert response.status_code == 302 and response["Location"] == _checkout(escrow)
    body = client.get(_checkout(escrow)).content.decode()
    assert reason in body and "You can try again below." in body and "Try again: pay" in body
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT and escrow.funded_at is None
    assert escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_FAILED).count() == 1

    # The retry with a good card goes through.
    _pay(client, escrow, "pm_card_visa")
    escrow.refresh_from_db()
    escrow_fund_from_payment(payment_reference=escrow.payment.reference)
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow_payment_error(escrow=escrow) == ""


def test_three_d_secure_redirects_to_the_authentication_page(client, stripe_emulator):
    escrow = accepted_escrow()
    client.force_login(escrow.client)
    response = _pay(client, escrow, "pm_card_authenticationRequired")
    assert response.status_code == 302
    escrow.refresh_from_db()
    assert response["Location"] == f"{stripe_emulator.url}/emulator/3ds/{escrow.payment.reference}"
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT
    assert escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_ACTION_REQUIRED).exists()


def test_checkout_is_the_clients_alone(client):
    escrow = accepted_escrow()
    for user in (escrow.tasker, ClientFactory()):
        client.force_login(user)
        assert client.get(_checkout(escrow)).status_code == 404
        assert _pay(client, escrow, "pm_card_visa").status_code == 404
    client.force_login(escrow.tasker)
    assert client.get(reverse("payments:escrow_detail", args=[escrow.pk])).status_code == 200
    client.force_login(ClientFactory())
    assert client.get(reverse("payments:escrow_detail", args=[escrow.pk])).status_code == 404
    escrow.refresh_from_db()
    assert escrow.payment_attempts == 0


def test_checkout_of_a_funded_escrow_has_nothing_to_pay(client):
    escrow = fund(accepted_escrow())
    client.force_login(escrow.client)
    body = client.get(_checkout(escrow)).content.decode()
    assert "there is nothing to pay" in body and "pm_card_visa" not in body


def test_real_keys_render_the_payment_element(client, settings, monkeypatch):
    import stripe

    from processors.stripe import gateway as stripe_gateway

    escrow = accepted_escrow()
    client.force_login(escrow.client)
    # Real-key mode for the page; the SDK is still pointed at the emulator underneath.
    emulator_url = settings.STRIPE_EMULATOR_URL
    settings.STRIPE_EMULATED = False
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_real"
    configure = stripe_gateway.configure

    def configure_for_emulator():
        configure()
        stripe.api_base = emulator_url

    monkeypatch.setattr(stripe_gateway, "configure", configure_for_emulator)
    monkeypatch.setattr(stripe_gateway.mirror, "configure", configure_for_emulator)  # its dj-stripe sync
    body = client.get(_checkout(escrow)).content.decode()
    escrow.refresh_from_db()
    assert body.count("https://js.stripe.com/v3/") == 1
    assert "pk_test_real" in body and "_secret_" in body and escrow.payment.reference
    assert "pm_card_visa" not in body
    assert client.post(reverse("payments:checkout_confirm", args=[escrow.pk])).status_code == 404
    # Only this page loads it.
    assert "js.stripe.com" not in client.get(escrow.task.get_absolute_url()).content.decode()


def test_task_page_buttons_per_party_and_state(client):
    escrow = accepted_escrow()
    task, tasker = escrow.task, escrow.tasker

    client.force_login(task.client)
    body = client.get(task.get_absolute_url()).content.decode()
    assert "Pay now" in body and "Cancel task" in body and "refunded to you in full" in body
    assert "Total to pay" in body and "Holdfast commission" not in body
    client.force_login(tasker)
    body = client.get(task.get_absolute_url()).content.decode()
    assert "Pay now" not in body and "Mark delivered" not in body and "Cancel task" not in body
    assert "You receive" in body and "80.00 USD" in body and "Service fee" not in body

    fund(escrow)
    body = client.get(task.get_absolute_url()).content.decode()
    assert "The payment is held in escrow" in body and "Mark delivered" in body
    client.force_login(task.client)
    body = client.get(task.get_absolute_url()).content.decode()
    assert "The payment is held in escrow" in body and "Cancel task" in body
    assert "Approve and release payment" not in body and "Mark delivered" not in body

    client.force_login(tasker)
    client.post(reverse("marketplace:task_deliver", args=[task.pk]))
    body = client.get(task.get_absolute_url()).content.decode()
    assert "Releases automatically on" in body and "Mark delivered" not in body
    assert "Approve and release payment" not in body
    client.force_login(task.client)
    body = client.get(task.get_absolute_url()).content.decode()
    assert "Approve and release payment" in body and "Request changes" in body
    assert "Releases automatically on" in body and "Cancel task" not in body

    # A stranger sees no escrow at all (the task is private once assigned).
    client.force_login(TaskerFactory())
    assert client.get(task.get_absolute_url()).status_code == 404


def test_approve_from_the_task_page_releases(client):
    task = delivered_task()
    client.force_login(task.client)
    response = client.post(reverse("marketplace:task_complete", args=[task.pk]), follow=True)
    assert "Payment released to the tasker" in response.content.decode()
    escrow = Escrow.objects.get(task=task)
    assert escrow.status == Escrow.Status.RELEASED and escrow.released_to_tasker == Decimal("80.00")


def test_cancelling_a_paid_task_refunds_it_in_full_once_the_tasker_agrees(client):
    task = funded_task()
    client.force_login(task.client)
    response = client.post(reverse("marketplace:task_cancel", args=[task.pk]), {"reason": "Plans changed"})
    assert response.status_code == 302
    escrow = Escrow.objects.get(task=task)
    assert escrow.status == Escrow.Status.DISPUTED  # the work has started: the tasker is asked
    from disputes.models import Dispute

    client.force_login(escrow.tasker)
    dispute = Dispute.objects.get(escrow=escrow)
    page = client.get(reverse("disputes:dispute_detail", args=[dispute.pk])).content.decode()
    assert "Accept this proposal" in page
    client.post(reverse("disputes:dispute_accept", args=[dispute.pk]), {"tasker_amount": "0.00"})
    escrow.refresh_from_db()
    task.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED and escrow.refunded_amount == Decimal("105.00")
    assert task.status == Task.Status.CANCELLED


def test_refusals_on_the_task_page_are_messages_not_errors(client):
    task = delivered_task()
    client.force_login(task.client)
    response = client.post(reverse("marketplace:task_cancel", args=[task.pk]))
    assert response.status_code == 409
    assert "The work was delivered: approve it or ask for changes instead." in response.content.decode()
    assert Escrow.objects.get(task=task).status == Escrow.Status.FUNDED
