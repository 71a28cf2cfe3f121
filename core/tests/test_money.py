from decimal import Decimal

import pytest

from core.errors import ValidationError
from core.money import parse_amount


@pytest.mark.parametrize("value", [1e30, Decimal("1e30"), 10**40, "9" * 60, "1000000000000", "999999999999999.5"])
def test_huge_amounts_are_refused_as_too_large(value):
    with pytest.raises(ValidationError) as refused:
        parse_amount(value, "USD")
    assert refused.value.code == "amount_too_large"
    assert refused.value.details == {"field": "amount"}


def test_huge_amounts_are_refused_in_zero_decimal_currencies_too():
    with pytest.raises(ValidationError) as refused:
        parse_amount(Decimal("1e30"), "JPY", field="budget_amount")
    assert refused.value.code == "amount_too_large"
    assert refused.value.details == {"field": "budget_amount"}


@pytest.mark.parametrize(
    "value", ["NaN", "-nan", "sNaN", "Infinity", "-Infinity", "inf", float("nan"), float("inf"), Decimal("sNaN"), ""]
)
def test_not_a_finite_number_is_refused_as_invalid(value):
    with pytest.raises(ValidationError) as refused:
        parse_amount(value, "USD")
    assert refused.value.code == "amount_invalid"


@pytest.mark.parametrize(
    "value",
    [
        "١٢٠",  # Arabic-Indic digits
        "۱۲۰",  # Extended Arabic-Indic digits
        "１２０",  # fullwidth digits
        "1_000",
        "1,000.00",
        "1 000",
        "1.000,00",
        " 120",
        "120\n",
        "+5",
        ".5",
        "5.",
        "1.2.3",
        "1e3",
        "1.2e2",
        "1E+30",
        "0x10",
        True,
        None,
        ["5"],
    ],
)
def test_only_ascii_digits_with_one_optional_dot_are_an_amount(value):
    with pytest.raises(ValidationError) as refused:
        parse_amount(value, "USD")
    assert refused.value.code == "amount_invalid"
    assert "1200.00" in refused.value.message


@pytest.mark.parametrize(
    ("value", "code"), [("-5", "amount_not_positive"), ("0", "amount_not_positive"), ("0.001", "amount_precision")]
)
def test_amounts_in_the_format_get_the_usual_codes(value, code):
    with pytest.raises(ValidationError) as refused:
        parse_amount(value, "USD")
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("value", "code"), [(Decimal("-1e30"), "amount_not_positive"), (Decimal("1e-999999999"), "amount_precision")]
)
def test_extreme_exponents_in_numbers_get_the_usual_codes(value, code):
    with pytest.raises(ValidationError) as refused:
        parse_amount(value, "USD")
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("1200.00", "USD", Decimal("1200.00")),
        ("120", "USD", Decimal("120")),
        ("0.50", "EUR", Decimal("0.50")),
        ("999999999999.99", "USD", Decimal("999999999999.99")),
        (5000, "JPY", 5000),
        (12.5, "USD", Decimal("12.5")),
        (Decimal("1.2e2"), "USD", Decimal("120")),
    ],
)
def test_amounts_in_the_format_and_numbers_are_accepted(value, currency, expected):
    assert parse_amount(value, currency) == expected
