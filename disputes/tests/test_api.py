"""The dispute API for the mobile apps: the same operations as the pages, the one error shape, and
another user's escrow or dispute (or evidence file) is a 404."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from disputes.models import Dispute, Evidence
from disputes.tests.factories import PDF, PNG
from payments.models import Escrow
from payments.tests.factories import escrow_delivered, escrow_funded

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulated")]


def _as(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body


def _open(api, escrow, **data):
    payload = {"reason": "quality", "description": "Crooked shelves", **data}
    return api.post(f"/api/v1/escrows/{escrow.pk}/dispute/", payload, format="json")


def test_open_talk_settle_through_the_api(api_client):
    escrow = escrow_delivered(amount="100.00")
    client_api = _as(api_client, escrow.client)
    opened = _open(client_api, escrow)
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert body["status"] == "open" and body["role"] == "client" and body["amount_in_question"] == "105.00"
    pk = body["id"]

    from rest_framework.test import APIClient

    tasker_api = _as(APIClient(), escrow.tasker)
    assert (
        tasker_api.post(f"/api/v1/disputes/{pk}/messages/", {"body": "They are level."}, format="json").status_code
        == 201
    )
    proposed = tasker_api.post(f"/api/v1/disputes/{pk}/settlement/", {"tasker_amount": "52.50"}, format="json")
    assert (
        proposed.json()["settlement_tasker_amount"] == "52.50" and proposed.json()["settlement_proposed_by"] == "tasker"
    )
    _error(tasker_api.post(f"/api/v1/disputes/{pk}/settlement/accept/", {}, format="json"), 409, "own_proposal")

    accepted = client_api.post(f"/api/v1/disputes/{pk}/settlement/accept/", {"tasker_amount": "52.50"}, format="json")

    assert (
        accepted.status_code == 200
        and accepted.json()["status"] == "resolved"
        and accepted.json()["outcome"] == "split"
    )
    listed = client_api.get("/api/v1/disputes/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == pk
    detail = tasker_api.get(f"/api/v1/disputes/{pk}/").json()
    assert [m["author"] for m in detail["messages"]] == ["tasker"]
    assert detail["timeline"][0]["kind"] == "opened" and detail["timeline"][-1]["kind"] == "ruled"


def test_a_strangers_escrow_and_dispute_are_404_and_nothing_changes(api_client):
    escrow = escrow_funded()
    stranger = _as(api_client, UserFactory())
    _error(_open(stranger, escrow), 404, "escrow_not_found")
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED

    from rest_framework.test import APIClient

    dispute_pk = _open(_as(APIClient(), escrow.client), escrow).json()["id"]
    for url in (f"/api/v1/disputes/{dispute_pk}/", "/api/v1/disputes/999999/"):
        _error(stranger.get(url), 404, "dispute_not_found")
    _error(stranger.post(f"/api/v1/disputes/{dispute_pk}/withdraw/"), 404, "dispute_not_found")
    _error(
        stranger.post(f"/api/v1/disputes/{dispute_pk}/messages/", {"body": "hi"}, format="json"),
        404,
        "dispute_not_found",
    )
    assert Dispute.objects.get().status == Dispute.Status.OPEN


def test_twice_released_and_bad_amounts_are_refused_with_the_error_shape(api_client):
    escrow = escrow_funded(amount="100.00")
    api = _as(api_client, escrow.client)
    _error(_open(api, escrow, reason="nope"), 400, "validation_error")
    _error(_open(api, escrow, amount_in_question="1000.00"), 400, "amount_exceeds_held")
    assert _open(api, escrow).status_code == 201
    _error(_open(api, escrow), 409, "dispute_already_open")
    pk = Dispute.objects.get().pk
    _error(
        api.post(f"/api/v1/disputes/{pk}/settlement/", {"tasker_amount": "-3"}, format="json"),
        400,
        "amount_not_positive",
    )
    _error(
        api.post(f"/api/v1/disputes/{pk}/settlement/", {"tasker_amount": "999"}, format="json"),
        400,
        "amount_exceeds_held",
    )


def test_evidence_upload_is_checked_and_downloads_are_for_the_parties_only(api_client):
    escrow = escrow_funded()
    api = _as(api_client, escrow.client)
    pk = _open(api, escrow).json()["id"]
    url = f"/api/v1/disputes/{pk}/evidence/"

    def upload(name, content, content_type="application/octet-stream"):
        return api.post(url, {"file": SimpleUploadedFile(name, content, content_type=content_type)}, format="multipart")

    _error(upload("notes.txt", b"hello"), 400, "file_type_invalid")
    _error(upload("fake.png", b"%PDF-1.4 not a png"), 400, "file_type_invalid")
    _error(upload("../../x", PNG), 400, "file_type_invalid")  # folders are stripped; no extension is refused
    _error(upload("big.pdf", PDF + b"0" * (5 * 1024 * 1024)), 400, "file_too_large")
    assert Evidence.objects.count() == 0

    created = upload("../../receipt.pdf", PDF, "application/pdf")
    assert created.status_code == 201, created.content
    evidence = Evidence.objects.get()
    assert evidence.original_name == "receipt.pdf" and ".." not in evidence.file.name
    assert evidence.file.name.startswith(f"disputes/{pk}/") and evidence.file.name.endswith(".pdf")
    download = created.json()["download_url"]

    got = api.get(download)
    assert got.status_code == 200 and b"".join(got.streaming_content) == PDF
    assert got["Content-Type"] == "application/pdf" and "attachment" in got["Content-Disposition"]
    from rest_framework.test import APIClient

    assert _as(APIClient(), escrow.tasker).get(download).status_code == 200
    _error(_as(APIClient(), UserFactory()).get(download), 404, "dispute_not_found")
    _error(APIClient().get(download), 401, "not_authenticated")


def test_withdraw_through_the_api_releases_the_hold(api_client):
    escrow = escrow_funded()
    api = _as(api_client, escrow.client)
    pk = _open(api, escrow).json()["id"]
    assert api.post(f"/api/v1/disputes/{pk}/withdraw/").json()["status"] == "withdrawn"
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.held_amount == Decimal("105.00")
