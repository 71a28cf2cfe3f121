"""A client's statistics and history pages, and Finance's revenue dashboard, in a real browser: the
vendored Chart.js draws each chart from the same figures as the table beneath it."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from accounts.roles import FINANCE, staff_groups_sync
from accounts.tests.factories import ClientFactory, TaskerFactory, UserFactory
from reporting.tests.helpers import paid_escrow, pdf_text

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stripe_emulator")]

CHART_DATA = "id => { const c = Chart.getChart(document.getElementById(id)); return c && c.data.datasets[0].data; }"


def test_charts_draw_the_figures_of_their_tables(browsing):
    client = ClientFactory()
    escrow = paid_escrow(client=client, tasker=TaskerFactory(), amount="140.00", title="Paint the fence")

    page = browsing.page("client", user=client)
    page.goto("/reporting/statistics/?period=90d")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-monthly'))")
    amounts = page.evaluate(CHART_DATA, "chart-monthly")
    assert 147.0 in amounts  # the bar of this month
    expect(page.locator("table.stats-monthly")).to_contain_text("147.00 USD")
    assert page.evaluate(CHART_DATA, "chart-status") == [1]
    expect(page.locator("table.stats-status")).to_contain_text("Funded")

    page.goto("/reporting/history/")
    expect(page.locator("table.history")).to_contain_text("Paint the fence")
    href = page.locator("table.history a", has_text="PDF").first.get_attribute("href")
    receipt = page.request.get(href)
    assert receipt.headers["content-type"] == "application/pdf"
    assert escrow.payment.reference in pdf_text(receipt.body())

    staff_groups_sync()
    finance = UserFactory(is_staff=True)
    finance.groups.add(Group.objects.get(name=FINANCE))
    office = browsing.page("finance", user=finance)
    office.goto("/admin/reporting/ledgerday/?period=30d&currency=USD")
    office.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-revenue-0'))")
    gross = office.evaluate(CHART_DATA, "chart-revenue-0")
    assert sum(gross) == 147.0
    expect(office.locator("#revenue-totals")).to_contain_text("147.00 USD")
