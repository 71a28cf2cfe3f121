"""The fee policy editor in the back office: bad input is a sentence on the form, never a 500."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import FINANCE, staff_groups_sync
from accounts.tests.factories import UserFactory
from payments.models import FeePolicy
from payments.services import fee_policy_active

pytestmark = pytest.mark.django_db

ADD = "admin:payments_feepolicy_add"
RATES = {
    "client_fee_percent": "5.00",
    "client_fee_fixed": "0.00",
    "client_fee_min": "0.00",
    "client_fee_max": "",
    "commission_percent": "20.00",
    "commission_min": "0.00",
    "commission_max": "",
}


@pytest.fixture
def finance_client(client):
    staff_groups_sync()
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=FINANCE))
    client.force_login(user)
    return client


def _errors(response) -> dict[str, list[str]]:
    """The form's errors as the page shows them: field name (or __all__) -> sentences."""
    assert response.status_code == 200
    form = response.context["adminform"].form
    return {field: list(messages) for field, messages in form.errors.items()}


def test_currency_is_a_choice_of_the_configured_currencies(finance_client, settings):
    settings.HOLDFAST_CURRENCIES = ["USD", "EUR"]
    page = finance_client.get(reverse(ADD))
    assert page.status_code == 200
    choices = [value for value, _ in page.context["adminform"].form.fields["currency"].choices]
    assert choices == ["USD", "EUR"]


def test_an_unknown_currency_is_a_form_error_and_publishes_nothing(finance_client):
    response = finance_client.post(reverse(ADD), {**RATES, "currency": "XYZ"})
    errors = _errors(response)
    assert list(errors) == ["currency"]
    assert "XYZ is not a currency Holdfast uses" in errors["currency"][0]
    assert not FeePolicy.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "sentence"),
    [
        ("client_fee_percent", "150", "The client's service fee must be a percentage from 0 to 100."),
        ("commission_percent", "150", "The tasker's commission must be a percentage from 0 to 100."),
        ("commission_percent", "-1", "The tasker's commission must be a percentage from 0 to 100."),
        ("client_fee_fixed", "-0.50", "The fixed part of the service fee cannot be negative."),
        ("client_fee_min", "-1", "The minimum service fee cannot be negative."),
        ("commission_min", "-1", "The minimum commission cannot be negative."),
    ],
)
def test_an_out_of_range_figure_is_a_sentence_naming_the_field(finance_client, field, value, sentence):
    response = finance_client.post(reverse(ADD), {**RATES, "currency": "USD", field: value})
    assert _errors(response) == {field: [sentence]}
    assert "is violated" not in response.content.decode()
    assert not FeePolicy.objects.exists()


@pytest.mark.parametrize(
    ("minimum", "maximum", "sentence"),
    [
        ("client_fee_min", "client_fee_max", "The maximum service fee cannot be less than the minimum (2.00)."),
        ("commission_min", "commission_max", "The maximum commission cannot be less than the minimum (2.00)."),
    ],
)
def test_a_maximum_below_the_minimum_is_a_sentence_on_the_maximum(finance_client, minimum, maximum, sentence):
    response = finance_client.post(reverse(ADD), {**RATES, "currency": "USD", minimum: "2.00", maximum: "1.00"})
    assert _errors(response) == {maximum: [sentence]}
    assert not FeePolicy.objects.exists()


def test_editing_with_a_percent_out_of_range_is_a_sentence_and_keeps_the_active_version(finance_client):
    v1 = fee_policy_active(currency="USD")
    url = reverse("admin:payments_feepolicy_change", args=[v1.pk])
    response = finance_client.post(url, {**RATES, "commission_percent": "150"})
    assert _errors(response) == {"commission_percent": ["The tasker's commission must be a percentage from 0 to 100."]}
    assert list(FeePolicy.objects.values_list("version", "is_active")) == [(1, True)]


def test_adding_a_policy_for_a_currency_that_has_one_publishes_the_next_version(finance_client):
    fee_policy_active(currency="EUR")
    response = finance_client.post(reverse(ADD), {**RATES, "currency": "EUR", "commission_percent": "15.00"})
    assert response.status_code == 302
    active = FeePolicy.objects.get(currency="EUR", is_active=True)
    assert active.version == 2 and active.commission_percent == Decimal("15.00")
