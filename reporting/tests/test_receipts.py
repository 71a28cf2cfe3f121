"""PDF receipts and statements: what they say (read back from the PDF), who may download them, and
the receipt emailed when a payment is booked."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import ClientFactory, TaskerFactory, UserFactory
from reporting.tests.helpers import paid_escrow, pdf_text, refund, release

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(emulated_escrows):
    return {
        "client": ClientFactory(name="Ada Lovelace"),
        "tasker": TaskerFactory(name="Zoë Quinn"),
        "other": ClientFactory(),
    }


def staff_user():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_escrow", content_type__app_label="payments"))
    return user


def test_payment_receipt_shows_the_breakdown_and_references(people, client):
    escrow = paid_escrow(client=people["client"], tasker=people["tasker"], amount="140.00", title="Tile the bathroom")
    client.force_login(people["client"])
    response = client.get(reverse("reporting:payment_receipt", kwargs={"escrow_id": escrow.pk}))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in (
        "Payment receipt",
        f"HF-P-{escrow.pk:06d}",
        "Ada Lovelace",
        "Tile the bathroom",
        "Agreed amount",
        "140.00 USD",
        "Service fee",
        "7.00 USD",
        "Total paid",
        "147.00 USD",
        escrow.payment.reference,
        escrow.payment.charge_reference,
        "Holdfast Marketplace Ltd",
    ):
        assert expected in text, expected


def test_refund_receipt_and_who_may_download_it(people, client, api_client):
    escrow = paid_escrow(client=people["client"], tasker=people["tasker"], amount="100.00", title="Fix the gate")
    made = refund(escrow, Decimal("30.00"))
    url = reverse("reporting:refund_receipt", kwargs={"refund_id": made.pk})
    client.force_login(people["client"])
    text = pdf_text(client.get(url).content)
    assert "Refund receipt" in text and "30.00 USD" in text and made.processor_reference in text
    assert "Fix the gate" in text and "105.00 USD" in text

    # The tasker and another client: as if it did not exist, on the page and in the API.
    for outsider in (people["tasker"], people["other"]):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.get(reverse("reporting:payment_receipt", kwargs={"escrow_id": escrow.pk})).status_code == 404
        api_client.force_authenticate(outsider)
        response = api_client.get(f"/api/v1/reporting/refunds/{made.pk}/receipt/")
        assert response.status_code == 404 and response.json()["error"]["code"] == "receipt_not_found"
        assert api_client.get(f"/api/v1/reporting/payments/{escrow.pk}/receipt/").status_code == 404
    # Staff may.
    client.force_login(staff_user())
    assert client.get(url).status_code == 200
    api_client.force_authenticate(people["client"])
    response = api_client.get(f"/api/v1/reporting/payments/{escrow.pk}/receipt/")
    assert response.status_code == 200 and "Payment receipt" in pdf_text(response.content)
    assert api_client.get("/api/v1/reporting/payments/99999999999/receipt/").status_code == 404


def test_monthly_statement_of_earnings(people, client, api_client):
    release(paid_escrow(client=people["client"], tasker=people["tasker"], amount="200.00", title="Build a shed"))
    two = paid_escrow(client=people["client"], tasker=people["tasker"], amount="100.00", title="Mow the lawn")
    refund(two, Decimal("52.50"))
    release(two)
    paid_escrow(client=people["client"], tasker=people["tasker"], amount="80.00", title="Not released yet")
    month = timezone.localdate().strftime("%Y-%m")
    client.force_login(people["tasker"])
    url = reverse("reporting:earnings_statement", kwargs={"month": month, "currency": "USD"})
    text = pdf_text(client.get(url).content)
    assert "Statement of earnings" in text and "Zoë Quinn" in text
    assert "Build a shed" in text and "Mow the lawn" in text and "Not released yet" not in text
    # 200 - 40 = 160 and, after half was refunded, 50 - 10 = 40: 250 earned, 50 commission, 200 net.
    assert "250.00 USD" in text and "-50.00 USD" in text and "200.00 USD" in text
    # Listed on the history page; another user's statement is not to be had.
    assert month in client.get(reverse("reporting:history")).content.decode()
    client.force_login(people["other"])
    assert client.get(url + f"?tasker={people['tasker'].pk}").status_code == 404
    other_text = pdf_text(client.get(url).content)  # their own: empty
    assert "No earnings were released" in other_text
    client.force_login(staff_user())
    assert "Build a shed" in pdf_text(client.get(url + f"?tasker={people['tasker'].pk}").content)
    api_client.force_authenticate(people["tasker"])
    response = api_client.get(f"/api/v1/reporting/statements/{month}/", {"currency": "USD"})
    assert response.status_code == 200 and "Build a shed" in pdf_text(response.content)
    bad = api_client.get("/api/v1/reporting/statements/2026-13/")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "month_invalid"


def test_the_receipt_is_emailed_when_the_payment_is_booked(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        escrow = paid_escrow(client=people["client"], tasker=people["tasker"], amount="60.00", title="Wash windows")
    receipts = [m for m in mail.outbox if "receipt" in m.subject]
    assert len(receipts) == 1 and receipts[0].to == [people["client"].email]
    filename, content, mimetype = receipts[0].attachments[0]
    assert filename == f"holdfast-receipt-HF-P-{escrow.pk:06d}.pdf" and mimetype == "application/pdf"
    assert "63.00 USD" in pdf_text(content) and "Wash windows" in pdf_text(content)
