"""A client and a tasker, each in their own browser, from signing up to the tasker's wallet."""

import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from e2e.conftest import wait_for
from marketplace.models import Task
from payments.models import Escrow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-journey-password"


def _sign_up(page, *, name: str, email: str, client: bool, tasker: bool) -> None:
    page.goto("/accounts/signup/")
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=is_client]").set_checked(client)
    page.locator("input[name=is_tasker]").set_checked(tasker)
    page.get_by_role("button", name=re.compile("sign up", re.I)).click()
    expect(page).not_to_have_url(re.compile(r"/accounts/signup/"))
    expect(page.get_by_role("button", name=re.compile("log out", re.I))).to_be_attached()


def _escrow(task_pk: int) -> Escrow | None:
    return Escrow.objects.filter(task_id=task_pk).first()


def _submit(page, button) -> None:
    """Click a form's button (saying yes to its confirm dialog) and wait for the page it leads to."""
    with page.expect_navigation():
        button.click()


def _click(page, name: str) -> None:
    _submit(page, page.get_by_role("button", name=re.compile(name, re.I)).first)


def test_from_sign_up_to_the_taskers_wallet(browsing, stripe_emulator, live_server):
    # The emulator delivers its webhooks to the live server.
    call_command("stripe_setup", site_url=live_server.url, stdout=io.StringIO())
    client = browsing.page("client")
    tasker = browsing.page("tasker")

    # The client signs up and posts a task.
    _sign_up(client, name="Clara Client", email="clara@example.com", client=True, tasker=False)
    client.goto("/tasks/new/")
    client.locator("[name=title]").fill("Mount a TV on a plaster wall")
    client.locator("[name=description]").fill("A 55 inch TV, bracket supplied. Plaster over brick.")
    client.locator("[name=category]").select_option(index=1)
    client.locator("[name=budget_amount]").fill("120.00")
    client.locator("[name=budget_currency]").select_option("USD")
    _click(client, "post")
    expect(client).to_have_url(re.compile(r"/tasks/\d+/$"))
    task = Task.objects.get(title="Mount a TV on a plaster wall")
    assert task.client.email == "clara@example.com" and task.status == Task.Status.OPEN
    task_path = f"/tasks/{task.pk}/"

    # A tasker signs up, finds it and bids.
    _sign_up(tasker, name="Tom Tasker", email="tom@example.com", client=False, tasker=True)
    tasker.goto("/")
    tasker.get_by_role("link", name=re.compile("Mount a TV", re.I)).first.click()
    expect(tasker).to_have_url(re.compile(rf"{task_path}$"))
    offer_form = tasker.locator(f"form[action$='{task_path}offers/']")
    offer_form.locator("[name=amount]").fill("100.00")
    offer_form.locator("[name=message]").fill("Tomorrow morning, with a stud finder.")
    _submit(tasker, offer_form.get_by_role("button"))
    offer = task.offers.get()
    assert offer.tasker.email == "tom@example.com" and offer.amount.amount == Decimal("100.00")

    # The client accepts (and confirms), which creates the escrow awaiting payment.
    client.goto(task_path)
    _submit(client, client.locator(f"form[action$='/offers/{offer.pk}/accept/']").get_by_role("button"))
    escrow = wait_for(lambda: _escrow(task.pk), message="the escrow")
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT

    # Pays with a declining card: refused, with the reason shown, nothing funded.
    client.goto(task_path)
    client.get_by_role("link", name=re.compile("pay", re.I)).first.click()
    expect(client).to_have_url(re.compile(rf"/payments/escrows/{escrow.pk}/checkout/"))
    client.locator("input[name=payment_method][value=pm_card_chargeDeclined]").check()
    _click(client, "pay")
    expect(client.get_by_role("alert").first).to_contain_text(re.compile("declin", re.I))
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT

    # Then with a good card: funded once Stripe's webhook has reached the app.
    client.goto(f"/payments/escrows/{escrow.pk}/checkout/")
    client.locator("input[name=payment_method][value=pm_card_visa]").check()
    _click(client, "pay")
    expect(client).to_have_url(re.compile(rf"{task_path}$"))
    assert stripe_emulator.wait_for_deliveries(timeout=30)
    wait_for(lambda: Escrow.objects.get(pk=escrow.pk).status == Escrow.Status.FUNDED, message="funding")
    task.refresh_from_db()
    assert task.status == Task.Status.IN_PROGRESS
    client.reload()
    expect(client.locator(".escrow-panel")).to_contain_text(re.compile("funded|held", re.I))

    # The tasker delivers; the client asks for changes; the tasker delivers again.
    tasker.goto(task_path)
    _click(tasker, "deliver")
    wait_for(lambda: Task.objects.get(pk=task.pk).status == Task.Status.DELIVERED, message="delivery")
    client.goto(task_path)
    changes = client.locator("form[action$='/request-changes/']")
    changes.locator("[name=reason]").fill("The TV is not level.")
    _submit(client, changes.get_by_role("button"))
    wait_for(lambda: Task.objects.get(pk=task.pk).status == Task.Status.IN_PROGRESS, message="changes requested")
    tasker.goto(task_path)
    expect(tasker.locator("body")).to_contain_text("The TV is not level.")
    _click(tasker, "deliver")
    wait_for(lambda: Task.objects.get(pk=task.pk).status == Task.Status.DELIVERED, message="second delivery")

    # The client approves (and confirms): the escrow is released to the tasker.
    client.goto(task_path)
    _click(client, "approve")
    wait_for(lambda: Escrow.objects.get(pk=escrow.pk).status == Escrow.Status.RELEASED, message="the release")
    escrow.refresh_from_db()
    assert escrow.tasker_net == Decimal("80.00")  # 100.00 less the 20 % commission
    task.refresh_from_db()
    assert task.status == Task.Status.COMPLETED

    # The tasker's wallet shows the net as available.
    tasker.goto("/wallet/")
    balances = tasker.locator("table").first
    expect(balances).to_contain_text("USD")
    expect(balances).to_contain_text("80.00")
