"""A task's budget follows the escrow limits, as offers do: one rule, one set of error codes."""

from decimal import Decimal

import pytest
from django.urls import reverse
from djmoney.money import Money

from accounts.tests.factories import ClientFactory
from core.errors import ValidationError
from marketplace import services
from marketplace.models import Task
from marketplace.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

TASK = {"title": "Mount a TV", "description": "55 inch TV on a brick wall.", "category": Task.Category.HANDYMAN}


@pytest.mark.parametrize(
    ("amount", "code"),
    [("2.00", "amount_below_minimum"), ("4.99", "amount_below_minimum"), ("20000.00", "amount_above_maximum")],
)
def test_post_and_update_refuse_budgets_escrow_could_not_hold(amount, code):
    client = ClientFactory()
    with pytest.raises(ValidationError) as exc:
        services.task_post(client=client, budget_amount=amount, budget_currency="USD", **TASK)
    assert exc.value.code == code and exc.value.details["field"] == "budget_amount"
    assert not Task.objects.exists()

    task = TaskFactory(client=client)
    with pytest.raises(ValidationError) as exc:
        services.task_update(task=task, actor=client, budget_amount=amount)
    assert exc.value.code == code
    task.refresh_from_db()
    assert task.budget == Money(Decimal("120.00"), "USD")


@pytest.mark.parametrize("amount", ["5.00", "10000.00"])
def test_the_limits_themselves_are_allowed(amount):
    task = services.task_post(client=ClientFactory(), budget_amount=amount, budget_currency="USD", **TASK)
    assert task.budget == Money(Decimal(amount), "USD")


def test_the_api_refuses_them_with_the_offer_codes(api_client):
    api_client.force_authenticate(ClientFactory())
    for amount, code in (("2.00", "amount_below_minimum"), ("20000.00", "amount_above_maximum")):
        response = api_client.post(
            "/api/v1/tasks/", {**TASK, "budget": {"amount": amount, "currency": "USD"}}, format="json"
        )
        assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert not Task.objects.exists()


def test_the_form_says_the_limits_and_shows_the_refusal_next_to_the_budget(client):
    client.force_login(ClientFactory())
    page = client.get(reverse("marketplace:task_create")).content.decode()
    assert "Between 5.00 and 10,000.00" in page
    response = client.post(
        reverse("marketplace:task_create"), {**TASK, "budget_amount": "2.00", "budget_currency": "USD"}
    )
    assert response.status_code == 400
    assert "The budget must be at least 5.00 USD" in response.content.decode()
    assert response.context["form"].errors["budget_amount"]
    assert not Task.objects.exists()
