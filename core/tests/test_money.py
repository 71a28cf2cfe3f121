from decimal import Decimal

import pytest

from core.errors import ValidationError
from core.money import parse_amount


@pytest.mark.parametrize("value", ["1e30", "1E+30", 1e30, Decimal("1e30"), "1e26", 10**40, "9" * 60, "1e999999999"])
def test_huge_amounts_are_refused_as_too_large(value):
    with pytest.raises(ValidationError) as refused:
        parse_amount(value, "USD")
    assert refused.value.code == "amount_too_large"
    assert refused.value.details == {"field": "amount"}


def test_huge_amounts_are_refused_in_zero_decimal_currencies_too():
    with pytest.raises(ValidationError) as refused:
        parse_amount("1e30", "JPY", field="budget_amount")
    assert refused.value.code == "amount_too_large"
    assert refused.value.details == {"field": "budget_amount"}


@pytest.mark.parametrize(
    "value", ["NaN", "-nan", "sNaN", "Infinity", "-Infinity", "inf", float("nan"), float("inf"), Decimal("sNaN"), ""]
)
def test_not_a_finite_number_is_refused_as_invalid(value):
    with pytest.raises(ValidationError) as refused:
        parse_amount(value, "USD")
    assert refused.value.code == "amount_invalid"


@pytest.mark.parametrize(("value", "code"), [("-1e30", "amount_not_positive"), ("1e-999999999", "amount_precision")])
def test_extreme_exponents_get_the_usual_codes(value, code):
    with pytest.raises(ValidationError) as refused:
        parse_amount(value, "USD")
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [("1.2e2", "USD", Decimal("120")), ("999999999999.99", "USD", Decimal("999999999999.99")), (5000, "JPY", 5000)],
)
def test_exponent_and_edge_amounts_within_range_are_accepted(value, currency, expected):
    assert parse_amount(value, currency) == expected
