"""Finance, in the back office: log in and refund a paid escrow from the escrow console."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from accounts.roles import FINANCE, staff_groups_sync
from accounts.tests.factories import PASSWORD, UserFactory
from payments.models import Escrow
from payments.tests.escrow_helpers import accepted_escrow, fund
from wallets.selectors import ledger_invariant_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stripe_emulator")]


def test_finance_refunds_an_escrow_in_full_from_the_console(browsing):
    staff_groups_sync()
    finance = UserFactory(email="fin@example.com", is_staff=True)
    finance.groups.add(Group.objects.get(name=FINANCE))
    escrow = fund(accepted_escrow())
    other = fund(accepted_escrow())
    assert escrow.status == Escrow.Status.FUNDED

    page = browsing.page("finance")
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.locator("input[name=username]").fill("fin@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("input[type=submit], button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/admin/login/"))

    page.goto("/admin/payments/escrow/")
    page.locator(f"input[name=_selected_action][value='{escrow.pk}']").check()
    page.locator("select[name=action]").select_option("refund_in_full")
    with page.expect_navigation():
        page.locator("button[name=index], input[name=index]").first.click()
    page.locator("[name=reason]").fill("Tasker did not show up")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("refund", re.I)).last.click()
    expect(page).to_have_url(re.compile(r"/admin/payments/escrow/"))
    expect(page.locator(".messagelist")).to_contain_text(f"#{escrow.pk}")

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED
    assert escrow.refunded_amount == escrow.client_total == Decimal("105.00")
    assert escrow.refunds.get().reason == "Tasker did not show up"
    other.refresh_from_db()
    assert other.status == Escrow.Status.FUNDED  # only the ticked one
    assert ledger_invariant_violations() == []
