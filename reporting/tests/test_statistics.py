"""Per-user statistics: the API shape, the figures against the ledger, periods, errors, the page."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import ClientFactory, TaskerFactory
from reporting.tests.helpers import FUNDING, RELEASE, escrow_postings, ledger_sum, paid_escrow, refund, release
from wallets.models import LedgerAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(emulated_escrows):
    return {"client": ClientFactory(), "tasker": TaskerFactory()}


def test_client_statistics_have_the_documented_shape_and_match_the_ledger(people, api_client):
    client, tasker = people["client"], people["tasker"]
    first = paid_escrow(client=client, tasker=tasker, amount="140.00")
    paid_escrow(client=client, tasker=tasker, amount="75.00")
    paid_escrow(client=client, tasker=tasker, amount="60.00", currency="EUR")
    refund(first, Decimal("14.70"))
    release(first)
    api_client.force_authenticate(client)
    body = api_client.get("/api/v1/reporting/statistics/", {"period": "30d"}).json()
    assert set(body) >= {"total_payments", "total_amount", "total_fees", "average", "status_breakdown", "monthly_trend"}
    assert body["currency"] == "USD" and body["total_payments"] == 2
    assert body["total_amount"] == "225.75" and body["total_fees"] == "10.75" and body["average"] == "112.88"
    assert body["total_refunded"] == "14.70"
    assert Decimal(body["total_amount"]) == escrow_postings(currency="USD", entry_kind=FUNDING, client=client)
    assert {(r["status"], r["count"], r["amount"]) for r in body["status_breakdown"]} == {
        ("released", 1, "147.00"),
        ("funded", 1, "78.75"),
    }
    month = timezone.localdate().strftime("%Y-%m")
    assert body["monthly_trend"][-1] == {"month": month, "count": 2, "amount": "225.75"}
    euros = api_client.get("/api/v1/reporting/statistics/", {"currency": "EUR", "period": "12m"}).json()
    assert euros["total_amount"] == "63.00" and len(euros["monthly_trend"]) == 12


def test_tasker_statistics_count_what_reached_the_wallet(people, api_client):
    client, tasker = people["client"], people["tasker"]
    release(paid_escrow(client=client, tasker=tasker, amount="200.00"))
    halved = paid_escrow(client=client, tasker=tasker, amount="100.00")
    refund(halved, Decimal("52.50"))
    release(halved)
    paid_escrow(client=client, tasker=tasker, amount="500.00")  # held: not earned yet
    api_client.force_authenticate(tasker)
    body = api_client.get("/api/v1/reporting/statistics/", {"role": "tasker", "period": "7d"}).json()
    assert body["total_payments"] == 2
    assert (body["total_amount"], body["total_fees"], body["total_gross"]) == ("200.00", "50.00", "250.00")
    wallet = ledger_sum(account__kind=LedgerAccount.Kind.USER_WALLET, account__user=tasker, entry__kind=RELEASE)
    assert Decimal(body["total_amount"]) == wallet
    assert len(body["monthly_trend"]) in (1, 2)  # the last 7 days touch one or two months


def test_custom_period_and_nothing_in_it(people, api_client):
    paid_escrow(client=people["client"], tasker=people["tasker"], amount="10.00")
    api_client.force_authenticate(people["client"])
    body = api_client.get(
        "/api/v1/reporting/statistics/", {"period": "custom", "date_from": "2020-01-01", "date_to": "2020-03-31"}
    ).json()
    assert body["total_payments"] == 0 and body["average"] == "0.00" and body["status_breakdown"] == []
    assert [m["month"] for m in body["monthly_trend"]] == ["2020-01", "2020-02", "2020-03"]


def test_statistics_are_only_ever_ones_own(people, api_client):
    paid_escrow(client=people["client"], tasker=people["tasker"], amount="10.00")
    stranger = ClientFactory()
    api_client.force_authenticate(stranger)
    # There is no way to name another user: a user parameter is ignored, the figures are one's own.
    body = api_client.get("/api/v1/reporting/statistics/", {"user": people["client"].pk}).json()
    assert body["total_payments"] == 0


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"period": "1y"}, "period_invalid"),
        ({"period": "custom"}, "period_invalid"),
        ({"period": "custom", "date_from": "2026-01-01"}, "period_invalid"),
        ({"period": "custom", "date_from": "2026-05-01", "date_to": "2026-04-01"}, "date_range_invalid"),
        ({"period": "custom", "date_from": "2000-01-01", "date_to": "2026-04-01"}, "date_range_too_long"),
        ({"date_from": "yesterday", "date_to": "2026-04-01"}, "date_invalid"),
        ({"role": "boss"}, "role_invalid"),
        ({"currency": "JPY"}, "currency_not_supported"),
    ],
)
def test_bad_periods_get_the_error_shape(params, code, api_client, client):
    user = ClientFactory()
    api_client.force_authenticate(user)
    response = api_client.get("/api/v1/reporting/statistics/", params)
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    client.force_login(user)
    page = client.get(reverse("reporting:statistics"), params)
    assert page.status_code == 400 and response.json()["error"]["message"] in page.content.decode()


def test_statistics_page_has_charts_and_their_tables(people, client):
    paid_escrow(client=people["client"], tasker=people["tasker"], amount="40.00")
    client.force_login(people["client"])
    page = client.get(reverse("reporting:statistics"), {"period": "90d"}).content.decode()
    assert 'id="chart-monthly"' in page and 'id="chart-status"' in page
    assert "vendor/chart.js/chart.umd.min.js" in page and "cdn" not in page.lower()
    assert "42.00 USD" in page and 'id="stats-data"' in page


def test_statistics_page_names_months_in_words(people, client):
    """The page reads "Jan 2020", like its dates; the API keeps the "2020-01" keys."""
    client.force_login(people["client"])
    params = {"period": "custom", "date_from": "2020-01-01", "date_to": "2020-02-29"}
    page = client.get(reverse("reporting:statistics"), params).content.decode()
    assert "<td>Jan 2020</td>" in page and "<td>Feb 2020</td>" in page and "2020-01<" not in page
    assert '"months": ["Jan 2020", "Feb 2020"]' in page  # the chart's labels
