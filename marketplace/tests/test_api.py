from decimal import Decimal

import pytest
from djmoney.money import Money

from accounts.tests.factories import ClientFactory, TaskerFactory
from marketplace.models import Offer, Task
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments.escrow import escrow_fund_from_payment
from payments.models import Escrow

pytestmark = pytest.mark.django_db

TASKS = "/api/v1/tasks/"


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def _task_payload(**budget):
    return {
        "title": "Hang three pictures",
        "description": "Hallway, plaster walls.",
        "category": "handyman",
        "budget": {"amount": "60.00", "currency": "USD", **budget},
    }


def test_protected_endpoints_answer_401_with_error_shape(api_client):
    task = TaskFactory()
    offer = OfferFactory(task=task)
    for method, url in [
        ("post", TASKS),
        ("get", f"{TASKS}mine/"),
        ("patch", f"{TASKS}{task.pk}/"),
        ("post", f"{TASKS}{task.pk}/cancel/"),
        ("get", f"{TASKS}{task.pk}/offers/"),
        ("post", f"{TASKS}{task.pk}/offers/"),
        ("get", "/api/v1/offers/mine/"),
        ("get", f"/api/v1/offers/{offer.pk}/"),
        ("post", f"/api/v1/offers/{offer.pk}/accept/"),
    ]:
        _error(getattr(api_client, method)(url, {}, format="json"), 401, "not_authenticated")


def test_browse_is_public_paginated_and_filtered(api_client):
    TaskFactory(title="Walk the dog", category=Task.Category.OTHER, budget=Money("15", "EUR"))
    TaskFactory(title="Garden tidy", category=Task.Category.GARDENING, budget=Money("200", "GBP"))
    TaskFactory(title="Done already", status=Task.Status.CANCELLED)
    OfferFactory(task=Task.objects.get(title="Garden tidy"))

    body = api_client.get(TASKS).json()
    assert body["count"] == 2
    assert {t["title"] for t in body["results"]} == {"Walk the dog", "Garden tidy"}

    body = api_client.get(TASKS, {"category": "gardening"}).json()
    assert [t["title"] for t in body["results"]] == ["Garden tidy"]
    assert body["results"][0]["budget"] == {"amount": "200.00", "currency": "GBP"}
    assert body["results"][0]["offer_count"] == 1

    assert [t["title"] for t in api_client.get(TASKS, {"currency": "eur"}).json()["results"]] == ["Walk the dog"]
    assert [t["title"] for t in api_client.get(TASKS, {"q": "GARDEN"}).json()["results"]] == ["Garden tidy"]
    assert [t["title"] for t in api_client.get(TASKS, {"min_budget": "100"}).json()["results"]] == ["Garden tidy"]
    ordered = api_client.get(TASKS, {"ordering": "-budget"}).json()["results"]
    assert [t["title"] for t in ordered] == ["Garden tidy", "Walk the dog"]

    _error(api_client.get(TASKS, {"currency": "XYZ"}), 400, "currency_not_supported")
    _error(api_client.get(TASKS, {"min_budget": "lots"}), 400, "filter_invalid")
    _error(api_client.get(TASKS, {"ordering": "random"}), 400, "validation_error")


def test_create_task_happy_path(api_client):
    user = ClientFactory()
    api_client.force_authenticate(user)
    response = api_client.post(TASKS, _task_payload(), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "open"
    assert body["budget"] == {"amount": "60.00", "currency": "USD"}
    assert Task.objects.get().client == user


@pytest.mark.parametrize(
    ("budget", "code"),
    [
        ({"amount": "0"}, "amount_not_positive"),
        ({"amount": -3}, "amount_not_positive"),
        ({"amount": "12.345"}, "amount_precision"),
        ({"amount": 12.345}, "amount_precision"),
        ({"amount": "twelve"}, "amount_invalid"),
        ({"amount": True}, "validation_error"),
        ({"currency": "BTC"}, "currency_not_supported"),
    ],
)
def test_create_task_refuses_bad_money(api_client, budget, code):
    api_client.force_authenticate(ClientFactory())
    _error(api_client.post(TASKS, _task_payload(**budget), format="json"), 400, code)
    assert not Task.objects.exists()


def test_create_task_accepts_numeric_amount(api_client):
    api_client.force_authenticate(ClientFactory())
    response = api_client.post(TASKS, _task_payload(amount=75), format="json")
    assert response.status_code == 201
    assert response.json()["budget"]["amount"] == "75.00"


def test_create_task_refuses_empty_title(api_client):
    api_client.force_authenticate(ClientFactory())
    _error(api_client.post(TASKS, {**_task_payload(), "title": " "}, format="json"), 400, "title_required")


def test_other_users_private_task_and_offer_are_404(api_client):
    task = TaskFactory()
    offer = OfferFactory(task=task)
    other_offer = OfferFactory(task=task)
    stranger = TaskerFactory()

    api_client.force_authenticate(stranger)
    # Open task: public, but its offers are private to their parties.
    assert api_client.get(f"{TASKS}{task.pk}/").status_code == 200
    assert api_client.get(f"{TASKS}{task.pk}/offers/").json()["count"] == 0
    _error(api_client.get(f"/api/v1/offers/{offer.pk}/"), 404, "offer_not_found")
    _error(api_client.post(f"/api/v1/offers/{offer.pk}/withdraw/"), 404, "offer_not_found")

    api_client.force_authenticate(offer.tasker)
    _error(api_client.get(f"/api/v1/offers/{other_offer.pk}/"), 404, "offer_not_found")
    assert [o["id"] for o in api_client.get(f"{TASKS}{task.pk}/offers/").json()["results"]] == [offer.pk]

    Task.objects.filter(pk=task.pk).update(status=Task.Status.CANCELLED)
    api_client.force_authenticate(stranger)
    _error(api_client.get(f"{TASKS}{task.pk}/"), 404, "task_not_found")
    _error(api_client.post(f"{TASKS}{task.pk}/complete/"), 404, "task_not_found")
    api_client.force_authenticate(None)
    _error(api_client.get(f"{TASKS}{task.pk}/"), 404, "task_not_found")
    api_client.force_authenticate(offer.tasker)
    assert api_client.get(f"{TASKS}{task.pk}/").status_code == 200


def test_patch_task(api_client):
    task = TaskFactory()
    api_client.force_authenticate(task.client)
    response = api_client.patch(f"{TASKS}{task.pk}/", {"title": "New", "budget": {"amount": "99.99"}}, format="json")
    assert response.status_code == 200
    assert response.json()["budget"] == {"amount": "99.99", "currency": "USD"}
    _error(
        api_client.patch(f"{TASKS}{task.pk}/", {"budget": {"currency": "JPY"}}, format="json"),
        400,
        "currency_not_supported",
    )
    api_client.force_authenticate(ClientFactory())
    _error(api_client.patch(f"{TASKS}{task.pk}/", {"title": "Mine"}, format="json"), 403, "not_task_client")
    task.refresh_from_db()
    assert task.title == "New"


def test_offer_errors_have_stable_codes(api_client):
    task = TaskFactory()
    url = f"{TASKS}{task.pk}/offers/"
    api_client.force_authenticate(ClientFactory())
    _error(api_client.post(url, {"amount": {"amount": "10", "currency": "USD"}}, format="json"), 403, "not_a_tasker")
    api_client.force_authenticate(task.client)
    _error(api_client.post(url, {"amount": {"amount": "10", "currency": "USD"}}, format="json"), 403, "own_task")
    api_client.force_authenticate(TaskerFactory())
    _error(
        api_client.post(url, {"amount": {"amount": "10", "currency": "GBP"}}, format="json"), 400, "currency_mismatch"
    )
    _error(
        api_client.post(url, {"amount": {"amount": "0.001", "currency": "USD"}}, format="json"), 400, "amount_precision"
    )
    assert api_client.post(url, {"amount": {"amount": "10", "currency": "USD"}}, format="json").status_code == 201
    _error(api_client.post(url, {"amount": {"amount": "9", "currency": "USD"}}, format="json"), 409, "offer_exists")
    assert Offer.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("1e30", "amount_invalid"),  # text: digits and one dot only, no exponent
        ("9" * 13, "amount_too_large"),
        (1e30, "amount_too_large"),  # a JSON number
        ("NaN", "amount_invalid"),
        ("Infinity", "amount_invalid"),
    ],
)
def test_offer_with_a_huge_or_non_finite_amount_is_a_400_not_a_500(api_client, amount, code):
    task = TaskFactory()
    api_client.force_authenticate(TaskerFactory())
    response = api_client.post(
        f"{TASKS}{task.pk}/offers/", {"amount": {"amount": amount, "currency": "USD"}}, format="json"
    )
    error = _error(response, 400, code)
    assert error["details"] == {"field": "amount"}
    assert not Offer.objects.exists()


@pytest.mark.parametrize("value", ["1e30", "1e999999", "1e-999999", "Infinity"])
def test_budget_filter_out_of_range_is_a_400_not_a_500(api_client, value):
    TaskFactory()
    for field in ("min_budget", "max_budget"):
        error = _error(api_client.get(TASKS, {field: value}), 400, "filter_invalid")
        assert error["details"] == {"field": field}


def test_full_flow_through_the_api(api_client, stripe_emulator):
    client_user, tasker, rival = ClientFactory(), TaskerFactory(), TaskerFactory()
    api_client.force_authenticate(client_user)
    task_id = api_client.post(TASKS, _task_payload(), format="json").json()["id"]

    api_client.force_authenticate(tasker)
    offer = api_client.post(
        f"{TASKS}{task_id}/offers/", {"amount": {"amount": 55, "currency": "USD"}, "message": "Can do"}, format="json"
    ).json()
    assert offer["amount"] == {"amount": "55.00", "currency": "USD"} and offer["status"] == "pending"
    api_client.force_authenticate(rival)
    rival_offer = api_client.post(
        f"{TASKS}{task_id}/offers/", {"amount": {"amount": "50", "currency": "USD"}}, format="json"
    ).json()

    api_client.force_authenticate(client_user)
    assert api_client.get(f"{TASKS}{task_id}/offers/").json()["count"] == 2
    accepted = api_client.post(f"/api/v1/offers/{offer['id']}/accept/").json()
    assert accepted["status"] == "accepted"
    assert api_client.post(f"/api/v1/offers/{offer['id']}/accept/").json()["status"] == "accepted"
    _error(api_client.post(f"/api/v1/offers/{rival_offer['id']}/accept/"), 409, "task_not_open")

    # No "start" any more: the task is in progress once the client's payment is held in escrow.
    api_client.force_authenticate(tasker)
    assert api_client.post(f"{TASKS}{task_id}/start/").status_code == 404
    _error(api_client.post(f"{TASKS}{task_id}/deliver/"), 409, "invalid_transition")
    api_client.force_authenticate(client_user)
    escrow = Escrow.objects.get(task_id=task_id)
    confirmed = api_client.post(
        f"/api/v1/escrows/{escrow.pk}/confirm/", {"payment_method": "pm_card_visa"}, format="json"
    ).json()
    assert confirmed["status"] == "succeeded"
    escrow.refresh_from_db()
    escrow_fund_from_payment(payment_reference=escrow.payment.reference)
    assert api_client.get(f"{TASKS}{task_id}/").json()["status"] == "in_progress"

    api_client.force_authenticate(tasker)
    assert (
        api_client.post(f"{TASKS}{task_id}/deliver/", {"note": "Done"}, format="json").json()["status"] == "delivered"
    )
    assert api_client.get("/api/v1/offers/mine/").json()["results"][0]["status"] == "accepted"

    api_client.force_authenticate(client_user)
    _error(api_client.post(f"{TASKS}{task_id}/request-changes/", {"reason": ""}, format="json"), 400, "reason_required")
    body = api_client.post(f"{TASKS}{task_id}/request-changes/", {"reason": "Crooked"}, format="json").json()
    assert body["status"] == "in_progress"
    api_client.force_authenticate(tasker)
    api_client.post(f"{TASKS}{task_id}/deliver/")
    api_client.force_authenticate(client_user)
    assert api_client.post(f"{TASKS}{task_id}/complete/").json()["status"] == "completed"
    assert api_client.get(f"{TASKS}mine/").json()["results"][0]["status"] == "completed"
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.RELEASED and escrow.released_to_tasker == Decimal("44.00")

    api_client.force_authenticate(rival)
    assert api_client.get(f"/api/v1/offers/{rival_offer['id']}/").json()["status"] == "rejected"


def test_withdraw_and_cancel(api_client):
    offer = OfferFactory()
    api_client.force_authenticate(offer.tasker)
    assert api_client.post(f"/api/v1/offers/{offer.pk}/withdraw/").json()["status"] == "withdrawn"
    api_client.force_authenticate(offer.task.client)
    body = api_client.post(f"{TASKS}{offer.task_id}/cancel/", {"reason": "No longer needed"}, format="json").json()
    assert body["status"] == "cancelled" and body["cancelled_at"]


def test_browse_search_matches_words_and_stems(api_client):
    tv = TaskFactory(title="Mount a TV on a plaster wall", description="55 inch screen.")
    TaskFactory(title="Walk the dog", description="Twice a day.")
    for q in ("TV wall", "mount tv", "mounting"):
        body = api_client.get(TASKS, {"q": q}).json()
        assert [t["id"] for t in body["results"]] == [tv.pk], q
    assert api_client.get(TASKS, {"q": "piano"}).json()["count"] == 0


@pytest.mark.parametrize("amount", ["١٢٠", "１２０", "1_000", "1,000.00", "1 000", "1e3", " 60"])
def test_amounts_outside_the_one_format_are_refused_and_nothing_is_stored(api_client, amount):
    api_client.force_authenticate(ClientFactory())
    error = _error(api_client.post(TASKS, _task_payload(amount=amount), format="json"), 400, "amount_invalid")
    assert "1200.00" in error["message"]  # the message shows the format to use
    assert not Task.objects.exists()


def test_an_amount_with_digits_and_one_dot_is_accepted(api_client):
    api_client.force_authenticate(ClientFactory())
    response = api_client.post(TASKS, _task_payload(amount="1000.50"), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["budget"] == {"amount": "1000.50", "currency": "USD"}


@pytest.mark.parametrize(
    ("path", "known"), [("/api/v1/tasks/mine/", "cancelled"), ("/api/v1/offers/mine/", "withdrawn")]
)
def test_mine_lists_refuse_an_unknown_status_and_filter_by_a_known_one(api_client, path, known):
    task = TaskFactory()
    api_client.force_authenticate(task.client)
    response = api_client.get(path, {"status": "nonsense"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    assert api_client.get(path, {"status": known}).json()["count"] == 0
    assert api_client.get(path, {"status": ""}).status_code == 200
