"""Disputes in the browser: the client opens one from the task page and adds a photo; the tasker
answers and proposes a split; the client accepts it, and the money is shared as agreed."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from disputes.models import Dispute
from payments.models import Escrow
from payments.tests.escrow_helpers import delivered_task
from wallets.selectors import ledger_invariant_violations
from wallets.services import wallet_account_get_or_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stripe_emulator")]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_dispute_opened_on_the_task_page_is_settled_by_agreement(browsing, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    task = delivered_task()
    escrow = Escrow.objects.get(task=task)
    photo = tmp_path / "crooked.png"
    photo.write_bytes(PNG)

    client = browsing.page("client", user=task.client)
    client.goto(task.get_absolute_url())
    client.get_by_role("link", name="Open a dispute").click()
    client.locator("[name=reason]").select_option("not_as_described")
    client.locator("[name=description]").fill("The shelves are crooked.")
    with client.expect_navigation():
        client.get_by_role("button", name="Open the dispute").click()
    expect(client.locator(".messages")).to_contain_text("Your dispute is open")
    client.locator("input[type=file][name=file]").set_input_files(str(photo))
    with client.expect_navigation():
        client.get_by_role("button", name="Add the file").click()
    expect(client.get_by_role("link", name="crooked.png")).to_be_visible()
    dispute = Dispute.objects.get()

    tasker = browsing.page("tasker", user=escrow.tasker)
    tasker.goto(task.get_absolute_url())
    tasker.get_by_role("link", name="View the dispute").click()
    expect(tasker).to_have_url(re.compile(rf"/disputes/{dispute.pk}/$"))
    tasker.locator("[name=body]").fill("I can take a bit less.")
    with tasker.expect_navigation():
        tasker.get_by_role("button", name="Send").click()
    tasker.locator("[name=tasker_amount]").fill("70.00")
    with tasker.expect_navigation():
        tasker.get_by_role("button", name="Propose a split").click()

    client.reload()
    expect(client.locator(".thread")).to_contain_text("I can take a bit less.")
    with client.expect_navigation():
        client.get_by_role("button", name="Accept this proposal").click()
    expect(client.locator("body")).to_contain_text("Resolved by agreement")

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.SPLIT and escrow.refunded_amount == Decimal("35.00")
    # The fee rule: the tasker gets the net on what is not refunded (80.00 × 70/105, fees rounded half-up).
    assert wallet_account_get_or_create(user=escrow.tasker, currency="USD").balance == Decimal("53.34")
    assert ledger_invariant_violations() == []


def test_the_dispute_pages_fit_a_phone(browsing, tmp_path, settings):
    from disputes import services
    from e2e.conftest import PHONE

    settings.MEDIA_ROOT = tmp_path / "media"
    task = delivered_task()
    escrow = Escrow.objects.get(task=task)
    dispute = services.dispute_open(
        escrow=escrow, actor=task.client, reason="quality", description="A long description " * 40
    )
    services.dispute_message_post(dispute=dispute, actor=escrow.tasker, body="W" * 300)  # one unbroken word
    page = browsing.page("client-phone", viewport=PHONE, user=task.client)
    too_wide = {}
    for url in (f"/disputes/{dispute.pk}/", "/disputes/", f"/disputes/open/{escrow.pk}/", task.get_absolute_url()):
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            too_wide[url] = overflow
    assert too_wide == {}
