"""Payment history: a client's payments, refunds and returned payments, a tasker's earnings, one
list with filters, search, pages and CSV, on the pages and in the API; nobody sees another's."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import ClientFactory, TaskerFactory
from payments.models import Escrow, EscrowRefund
from reporting.tests.helpers import paid_escrow, refund, release

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(emulated_escrows):
    return {"client": ClientFactory(), "tasker": TaskerFactory(), "other": ClientFactory()}


def test_a_client_sees_every_payment_and_refund_with_card_and_reference(people, api_client):
    client, tasker = people["client"], people["tasker"]
    first = paid_escrow(client=client, tasker=tasker, amount="140.00", title="Paint the fence")
    second = paid_escrow(client=client, tasker=tasker, amount="75.00", currency="EUR", title="Hang a mirror")
    partial = refund(first, Decimal("21.00"))
    paid_escrow(client=people["other"], tasker=tasker, amount="50.00", title="Someone else's task")

    api_client.force_authenticate(client)
    body = api_client.get("/api/v1/reporting/history/", {"role": "client"}).json()
    assert body["count"] == 3
    rows = {(r["kind"], r["id"]): r for r in body["results"]}
    payment = rows[("payment", first.pk)]
    assert payment["amount"] == "147.00" and payment["fee"] == "7.00" and payment["currency"] == "USD"
    assert payment["title"] == "Paint the fence" and payment["reference"] == first.payment.reference
    assert payment["receipt_url"] == f"/api/v1/reporting/payments/{first.pk}/receipt/"
    assert rows[("payment", second.pk)]["amount"] == "78.75" and rows[("payment", second.pk)]["currency"] == "EUR"
    refunded = rows[("refund", partial.pk)]
    assert refunded["amount"] == "21.00" and refunded["status"] == EscrowRefund.Status.SUCCEEDED
    assert refunded["reference"].startswith("re_") and refunded["charge_reference"] == first.payment.charge_reference
    assert "Someone else's task" not in str(body)

    # Filters: currency, status, search by title and by Stripe id; one page at a time.
    assert api_client.get("/api/v1/reporting/history/", {"currency": "EUR"}).json()["count"] == 1
    assert api_client.get("/api/v1/reporting/history/", {"kind": "refund"}).json()["count"] == 1
    assert api_client.get("/api/v1/reporting/history/", {"q": "fence"}).json()["count"] == 2
    assert api_client.get("/api/v1/reporting/history/", {"q": refunded["reference"]}).json()["count"] == 1
    page = api_client.get("/api/v1/reporting/history/", {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_the_card_used_is_shown_when_the_processor_mirror_has_the_charge(people, client):
    escrow = paid_escrow(client=people["client"], tasker=people["tasker"], amount="100.00")
    client.force_login(people["client"])
    page = client.get(reverse("reporting:history")).content.decode()
    from processors.selectors import payment_cards

    card = payment_cards(charge_references=[escrow.payment.charge_reference]).get(escrow.payment.charge_reference)
    if card is not None:  # dj-stripe mirrors the charge when Stripe's event arrives
        assert f"•••• {card.last4}" in page
    assert escrow.payment.reference in page and "105.00 USD" in page


def test_a_tasker_sees_earnings_with_commission_and_net(people, api_client):
    escrow = release(paid_escrow(client=people["client"], tasker=people["tasker"], amount="200.00"))
    held = paid_escrow(client=people["client"], tasker=people["tasker"], amount="50.00")
    api_client.force_authenticate(people["tasker"])
    rows = api_client.get("/api/v1/reporting/history/", {"role": "tasker"}).json()["results"]
    by_id = {r["id"]: r for r in rows}
    assert (by_id[escrow.pk]["amount"], by_id[escrow.pk]["fee"], by_id[escrow.pk]["net"]) == (
        "200.00",
        "40.00",
        "160.00",
    )
    assert by_id[escrow.pk]["status"] == Escrow.Status.RELEASED
    assert by_id[held.pk]["status"] == Escrow.Status.FUNDED and by_id[held.pk]["net"] == "40.00"
    # The client's card and fee are not in the tasker's rows.
    assert all(r["card_last4"] == "" and r["kind"] == "earning" for r in rows)


def test_an_earning_after_a_partial_refund_shows_the_commission_kept(people, api_client):
    escrow = paid_escrow(client=people["client"], tasker=people["tasker"], amount="100.00")
    refund(escrow, Decimal("52.50"))  # half of 105.00
    escrow = release(escrow)
    api_client.force_authenticate(people["tasker"])
    row = api_client.get("/api/v1/reporting/history/", {"kind": "earning"}).json()["results"][0]
    assert (row["amount"], row["fee"], row["net"]) == ("50.00", "10.00", "40.00")
    assert Decimal(row["net"]) == escrow.released_to_tasker


def test_csv_export_has_every_filtered_row(people, client):
    for amount in ("10.00", "20.00", "30.00"):
        paid_escrow(client=people["client"], tasker=people["tasker"], amount=amount)
    client.force_login(people["client"])
    response = client.get(reverse("reporting:history_csv"), {"role": "client"})
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("date,kind,id,escrow,task,currency,amount,fee,net,status")
    assert sorted(line.split(",")[6] for line in lines[1:]) == ["10.50", "21.00", "31.50"]


def test_history_page_lists_filters_and_pages(people, client, settings):
    settings.REPORTING_HISTORY_PAGE_SIZE = 2
    for amount in ("10.00", "20.00", "30.00"):
        paid_escrow(client=people["client"], tasker=people["tasker"], amount=amount)
    client.force_login(people["client"])
    page = client.get(reverse("reporting:history")).content.decode()
    assert "Page 1 of 2" in page and "31.50 USD" in page and "10.50 USD" not in page
    assert "10.50 USD" in client.get(reverse("reporting:history"), {"page": 2}).content.decode()
    empty = client.get(reverse("reporting:history"), {"currency": "GBP"}).content.decode()
    assert "No transactions match these filters" in empty


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"period": "5y"}, "period_invalid"),
        ({"period": "30d", "date_from": "2026-01-01"}, "period_invalid"),
        ({"date_from": "2026-02-30"}, "date_invalid"),
        ({"date_from": "2026-03-01", "date_to": "2026-02-01"}, "date_range_invalid"),
        ({"status": "lost"}, "status_invalid"),
        ({"currency": "XYZ"}, "currency_not_supported"),
        ({"role": "admin"}, "role_invalid"),
        ({"kind": "gift"}, "kind_invalid"),
    ],
)
def test_bad_filters_get_the_error_shape(params, code, api_client, client):
    user = ClientFactory()
    api_client.force_authenticate(user)
    response = api_client.get("/api/v1/reporting/history/", params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    client.force_login(user)
    assert client.get(reverse("reporting:history"), params).status_code == 400
    csv = client.get(reverse("reporting:history_csv"), params)
    assert csv.status_code == 400 and code in csv.content.decode()


def test_history_needs_a_login(api_client, client):
    assert api_client.get("/api/v1/reporting/history/").status_code == 401
    assert client.get(reverse("reporting:history")).status_code == 302


def test_a_payment_handed_back_at_stripe_is_listed_as_returned(people, api_client):
    from django.conf import settings
    from moneyed import Money

    from payments import escrow as escrow_services
    from processors.stripe import gateway as stripe_gateway

    escrow = paid_escrow(client=people["client"], tasker=people["tasker"], amount="100.00", title="Fix the roof")
    # A second payment for the same escrow, from an old tab: Holdfast hands it straight back.
    second = stripe_gateway.payment_intent_create(
        amount=Money(Decimal("105.00"), "USD"),
        key=f"second-{escrow.pk}",
        transfer_group=f"escrow-{escrow.pk}",
        metadata={"escrow_id": str(escrow.pk), "holdfast_namespace": settings.STRIPE_NAMESPACE},
        payment_method="pm_card_visa",
        confirm=True,
        return_url="http://testserver/",
    )
    escrow_services.escrow_fund_from_payment(payment_reference=second.id, event_id="evt_second")

    api_client.force_authenticate(people["client"])
    rows = api_client.get("/api/v1/reporting/history/", {"kind": "returned"}).json()["results"]
    assert len(rows) == 1
    assert (rows[0]["reference"], rows[0]["amount"], rows[0]["status"]) == (second.id, "105.00", "returned")
    assert rows[0]["title"] == "Fix the roof" and rows[0]["escrow_id"] == escrow.pk
    api_client.force_authenticate(people["other"])
    assert api_client.get("/api/v1/reporting/history/", {"kind": "returned"}).json()["count"] == 0
