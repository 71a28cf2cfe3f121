"""Back office: Finance's revenue dashboard (figures, CSV, refresh) and the transaction search."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.roles import FINANCE, SUPPORT, staff_groups_sync
from accounts.tests.factories import ClientFactory, TaskerFactory, UserFactory
from reporting.tests.helpers import paid_escrow, refund, release

pytestmark = pytest.mark.django_db
DASHBOARD = "/admin/reporting/ledgerday/"
SEARCH = "/admin/reporting/transactionsearch/"


def staff(group: str):
    staff_groups_sync()
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def history(emulated_escrows):
    client, tasker = ClientFactory(email="payer@example.com"), TaskerFactory()
    usd = release(paid_escrow(client=client, tasker=tasker, amount="100.00", title="Fit a kitchen"))
    eur = paid_escrow(client=client, tasker=tasker, amount="40.00", currency="EUR", title="Walk the dog")
    refund(eur, Decimal("10.00"))
    return {"client": client, "usd": usd, "eur": eur}


def test_finance_sees_the_revenue_dashboard_per_currency_with_csv(history, client):
    client.force_login(staff(FINANCE))
    page = client.get(DASHBOARD, {"period": "30d"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="revenue-totals"' in html and "chart-revenue-0" in html and "vendor/chart.js" in html
    assert "105.00 USD" in html and "25.00 USD" in html  # gross volume; fee revenue = 5 + 20
    assert "42.00 EUR" in html and "10.00 EUR" in html  # gross volume; refunds
    assert "32.00 EUR" in html  # still held for the EUR escrow, by state
    csv = client.get(DASHBOARD, {"period": "30d", "granularity": "month", "format": "csv"})
    lines = b"".join(csv.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("period,currency,gross_volume,client_fees,commissions,fee_revenue,refunds")
    month = next(line.split(",") for line in lines[1:] if line.startswith(f"{timezone.localdate():%Y-%m},USD,"))
    assert month[2:6] == ["105.00", "5.00", "20.00", "25.00"]

    refreshed = client.post(DASHBOARD + "?period=30d", {"refresh": "1"}, follow=True)
    assert "The roll-up now holds every posting" in refreshed.content.decode()
    assert "105.00 USD" in refreshed.content.decode()


def test_dashboard_refuses_bad_periods_and_is_for_finance_only(history, client):
    client.force_login(staff(FINANCE))
    bad = client.get(DASHBOARD, {"period": "custom", "date_from": "2026-02-01"})
    assert bad.status_code == 400 and "needs both date_from and date_to" in bad.content.decode()
    assert client.get(DASHBOARD, {"granularity": "hour"}).status_code == 400
    client.force_login(staff(SUPPORT))
    assert client.get(DASHBOARD).status_code == 403
    client.force_login(history["client"])
    assert client.get(DASHBOARD).status_code == 302  # to the admin log-in


def test_staff_search_transactions_by_amount_stripe_id_email_and_task(history, client):
    client.force_login(staff(SUPPORT))
    usd = history["usd"]
    by_amount = client.get(SEARCH, {"amount": "105.00"}).content.decode()
    assert "Fit a kitchen" in by_amount and "Walk the dog" not in by_amount
    by_id = client.get(SEARCH, {"reference": usd.payment.reference}).content.decode()
    assert "Fit a kitchen" in by_id and "1 found" in by_id
    by_email = client.get(SEARCH, {"email": "payer@example.com", "kind": "refund"}).content.decode()
    assert "Walk the dog" in by_email and "10.00 EUR" in by_email
    assert "Walk the dog" in client.get(SEARCH, {"task": f"#{history['eur'].task_id}"}).content.decode()
    assert (
        "No transaction matches"
        in client.get(SEARCH, {"date_from": "2020-01-01", "date_to": "2020-01-31"}).content.decode()
    )
    bad = client.get(SEARCH, {"amount": "1,05"})
    assert bad.status_code == 400 and "like" in bad.content.decode()
    csv = client.get(SEARCH, {"email": "payer@example.com", "format": "csv"})
    # Two payments and a refund of the client, the two earnings from the client's tasks.
    assert len(b"".join(csv.streaming_content).decode().strip().splitlines()) == 1 + 5


def test_the_dashboard_names_periods_and_escrow_states_in_words(history, client):
    """As the history and statistics pages do: "Last 30 days", "Funded", not "30d", "funded"."""
    client.force_login(staff(FINANCE))
    html = client.get(DASHBOARD, {"period": "30d"}).content.decode()
    assert '<option value="30d" selected>Last 30 days</option>' in html
    held = html[html.index('id="held-by-status"') : html.index("</table>", html.index('id="held-by-status"'))]
    assert "<td>Funded</td>" in held and "<td>funded</td>" not in held
