"""The escrow API: parties only, one error shape, money moved only by the services."""

from decimal import Decimal

import pytest

from accounts.tests.factories import ClientFactory, TaskerFactory
from marketplace.models import Task
from payments.escrow import escrow_fund_from_payment
from payments.models import Escrow
from payments.tests.escrow_helpers import accepted_escrow, delivered_task, fund
from wallets.models import JournalEntry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

ESCROWS = "/api/v1/escrows/"


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_every_endpoint_needs_a_login(api_client):
    escrow = accepted_escrow()
    _error(api_client.get(ESCROWS), 401, "not_authenticated")
    _error(api_client.get(f"{ESCROWS}{escrow.pk}/"), 401, "not_authenticated")
    for op in ("checkout", "confirm", "approve", "request-changes", "cancel"):
        _error(api_client.post(f"{ESCROWS}{escrow.pk}/{op}/", {}, format="json"), 401, "not_authenticated")


def test_pay_deliver_approve_through_the_api(api_client):
    escrow = accepted_escrow()
    client_user, tasker = escrow.client, escrow.tasker

    api_client.force_authenticate(client_user)
    listed = api_client.get(ESCROWS).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == escrow.pk
    body = api_client.get(f"{ESCROWS}{escrow.pk}/").json()
    assert body["role"] == "client" and body["status"] == "awaiting_payment"
    assert [(line["key"], line["amount"]) for line in body["breakdown"]] == [
        ("amount", "100.00"),
        ("client_fee", "5.00"),
        ("client_total", "105.00"),
    ]
    assert [event["kind"] for event in body["timeline"]] == ["created"]

    checkout = api_client.post(f"{ESCROWS}{escrow.pk}/checkout/").json()
    assert checkout["amount"] == "105.00" and checkout["currency"] == "USD"
    assert checkout["client_secret"].startswith(checkout["payment_intent_id"])
    assert checkout["publishable_key"].startswith("pk_")
    again = api_client.post(f"{ESCROWS}{escrow.pk}/checkout/").json()
    assert again["payment_intent_id"] == checkout["payment_intent_id"]

    declined = _error(
        api_client.post(f"{ESCROWS}{escrow.pk}/confirm/", {"payment_method": "pm_card_chargeDeclined"}),
        402,
        "card_declined",
    )
    assert "declined" in declined["message"]
    assert api_client.get(f"{ESCROWS}{escrow.pk}/").json()["last_payment_error"]
    three_ds = api_client.post(f"{ESCROWS}{escrow.pk}/confirm/", {"payment_method": "pm_card_authenticationRequired"})
    assert three_ds.json()["status"] == "requires_action" and "/emulator/3ds/" in three_ds.json()["redirect_url"]
    paid = api_client.post(f"{ESCROWS}{escrow.pk}/confirm/", {"payment_method": "pm_card_visa"}).json()
    assert paid == {"status": "succeeded", "redirect_url": ""}
    escrow_fund_from_payment(payment_reference=checkout["payment_intent_id"])
    assert api_client.get(ESCROWS, {"status": "funded"}).json()["count"] == 1
    assert api_client.get(ESCROWS, {"status": "released"}).json()["count"] == 0
    _error(api_client.get(ESCROWS, {"status": "nonsense"}), 400, "validation_error")

    api_client.force_authenticate(tasker)
    body = api_client.get(f"{ESCROWS}{escrow.pk}/").json()
    assert body["role"] == "tasker" and body["last_payment_error"] == ""
    assert [(line["key"], line["amount"]) for line in body["breakdown"]] == [
        ("amount", "100.00"),
        ("commission", "-20.00"),
        ("tasker_net", "80.00"),
    ]
    _error(api_client.post(f"{ESCROWS}{escrow.pk}/approve/"), 403, "not_escrow_client")
    api_client.post(f"/api/v1/tasks/{escrow.task_id}/deliver/")

    api_client.force_authenticate(client_user)
    _error(api_client.post(f"{ESCROWS}{escrow.pk}/request-changes/", {"reason": ""}), 400, "reason_required")
    body = api_client.post(f"{ESCROWS}{escrow.pk}/request-changes/", {"reason": "Wobbly"}, format="json").json()
    assert body["release_due_at"] is None and body["timeline"][-1]["kind"] == "changes_requested"
    api_client.force_authenticate(tasker)
    api_client.post(f"/api/v1/tasks/{escrow.task_id}/deliver/")
    api_client.force_authenticate(client_user)
    body = api_client.post(f"{ESCROWS}{escrow.pk}/approve/").json()
    assert body["status"] == "released" and body["released_to_tasker"] == "80.00"
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.COMPLETED


def test_other_users_escrow_is_404(api_client):
    escrow = accepted_escrow()
    for stranger in (ClientFactory(), TaskerFactory()):
        api_client.force_authenticate(stranger)
        assert api_client.get(ESCROWS).json()["count"] == 0
        _error(api_client.get(f"{ESCROWS}{escrow.pk}/"), 404, "escrow_not_found")
        for op in ("checkout", "confirm", "approve", "request-changes", "cancel"):
            _error(
                api_client.post(f"{ESCROWS}{escrow.pk}/{op}/", {"payment_method": "pm_card_visa"}),
                404,
                "escrow_not_found",
            )
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT and escrow.payment is None


def test_approving_an_unfunded_escrow_moves_nothing(api_client):
    escrow = accepted_escrow()
    api_client.force_authenticate(escrow.client)
    entries = JournalEntry.objects.count()
    _error(api_client.post(f"{ESCROWS}{escrow.pk}/approve/"), 409, "escrow_not_funded")
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT and escrow.released_to_tasker == Decimal("0.00")
    assert JournalEntry.objects.count() == entries
    assert not escrow.events.filter(kind="released").exists()


def test_checkout_of_a_funded_escrow_is_refused(api_client):
    escrow = fund(accepted_escrow())
    api_client.force_authenticate(escrow.client)
    _error(api_client.post(f"{ESCROWS}{escrow.pk}/checkout/"), 409, "escrow_not_awaiting_payment")
    api_client.force_authenticate(escrow.tasker)
    _error(api_client.post(f"{ESCROWS}{escrow.pk}/checkout/"), 404, "escrow_not_found")


def test_cancel_refunds_before_delivery_once_the_tasker_agrees_and_is_refused_after(api_client):
    from disputes.models import Dispute
    from disputes.services import dispute_settlement_accept

    escrow = fund(accepted_escrow())
    api_client.force_authenticate(escrow.client)
    body = api_client.post(f"{ESCROWS}{escrow.pk}/cancel/", {"reason": "Changed my mind"}, format="json").json()
    assert body["status"] == "disputed"  # the work has started: the tasker is asked to agree
    dispute_settlement_accept(dispute=Dispute.objects.get(escrow=escrow), actor=escrow.tasker)
    body = api_client.get(f"{ESCROWS}{escrow.pk}/").json()
    assert body["status"] == "refunded" and body["refunded_amount"] == "105.00"
    assert Task.objects.get(pk=escrow.task_id).status == Task.Status.CANCELLED

    task = delivered_task()
    delivered = Escrow.objects.get(task=task)
    api_client.force_authenticate(task.client)
    _error(api_client.post(f"{ESCROWS}{delivered.pk}/cancel/"), 409, "escrow_delivered")
    delivered.refresh_from_db()
    assert delivered.status == Escrow.Status.FUNDED and delivered.refunded_amount == Decimal("0.00")


def test_cancel_unpaid(api_client):
    escrow = accepted_escrow()
    api_client.force_authenticate(escrow.client)
    body = api_client.post(f"{ESCROWS}{escrow.pk}/cancel/").json()
    assert body["status"] == "cancelled"
