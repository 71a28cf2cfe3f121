"""Money helpers: the one place that knows currencies' minor units and rounding.

Amounts are ``Decimal`` in major units everywhere in Holdfast (``Money`` on models). Integer
minor units exist only at the Stripe boundary, through ``to_minor_units``/``from_minor_units``.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from moneyed import Money

from core.errors import ValidationError

# Stripe's zero-decimal currencies: amounts are sent as whole units.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)


# No amount a user types may reach this (exclusive): far above any escrow limit, and small enough
# that rounding to a minor unit stays within the decimal context's precision.
AMOUNT_LIMIT = Decimal("1e12")


def decimal_places(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: Decimal('0.01') for USD, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-decimal_places(currency))


def quantize(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round to the currency's minor unit, half up (0.005 USD -> 0.01)."""
    return Decimal(amount).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal | Money, currency: str | None = None) -> int:
    """Decimal major units -> Stripe's integer minor units. Refuses sub-minor-unit amounts."""
    if isinstance(amount, Money):
        currency, amount = str(amount.currency), amount.amount
    assert currency is not None
    scaled = Decimal(amount).scaleb(decimal_places(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of minor units")
    return int(scaled)


def from_minor_units(value: int, currency: str) -> Decimal:
    return quantize(Decimal(int(value)).scaleb(-decimal_places(currency)), currency)


def supported_currencies() -> list[str]:
    return [c.upper() for c in settings.HOLDFAST_CURRENCIES]


def validate_currency(currency: str, *, field: str = "currency") -> str:
    code = (currency or "").upper()
    if code not in supported_currencies():
        raise ValidationError(
            f"{currency or 'That currency'} is not supported. Use one of: {', '.join(supported_currencies())}.",
            code="currency_not_supported",
            details={"field": field, "supported": supported_currencies()},
        )
    return code


# The one format a typed amount may take: ASCII digits, at most one dot with digits after it, and
# a leading minus only so that "-5" is told it must be positive. No exponents ("1e3"), no digit
# group separators ("1,000", "1_000", "1 000"), no other scripts' digits ("١٢٠", "１２０").
AMOUNT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_AMOUNT_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def parse_amount(value: object, currency: str, *, field: str = "amount") -> Decimal:
    """A user-supplied amount -> Decimal, or a clear error. Positive, finite, no sub-cent digits.

    Text must be in ``AMOUNT_PATTERN`` ("120", "120.50"); numbers (a JSON number, a ``Decimal``
    from a form) are taken as they are. The size is checked before rounding: ``quantize`` raises
    ``InvalidOperation`` for amounts with more digits than the decimal context holds ("1e30" as
    a number), which would otherwise be a 500.
    """
    amount = _amount_decimal(value)
    if amount is None or not amount.is_finite():
        raise ValidationError(
            "Enter the amount with digits and at most one dot, like 1200.00 (no commas or spaces).",
            code="amount_invalid",
            details={"field": field},
        )
    if amount <= 0:
        raise ValidationError(
            "The amount must be more than zero.", code="amount_not_positive", details={"field": field}
        )
    if amount >= AMOUNT_LIMIT:
        raise ValidationError("That amount is too large.", code="amount_too_large", details={"field": field})
    if amount != quantize(amount, currency):
        raise ValidationError(
            f"{currency} amounts have at most {decimal_places(currency)} decimal places.",
            code="amount_precision",
            details={"field": field},
        )
    return amount


def _amount_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest text of the number sent, not its binary expansion
    if isinstance(value, str) and _AMOUNT_TEXT.fullmatch(value):
        return Decimal(value)
    return None


def money(amount: Decimal | int | str, currency: str) -> Money:
    return Money(quantize(amount, currency), currency.upper())


def format_money(amount: Decimal | Money | int | str | None, currency: str | None = None) -> str:
    """The one way amounts are shown to people: "1,234.50 USD" (grouped, the currency's minor unit).

    Not localised on purpose: one format across pages, emails and the back office, and the
    currency code is never ambiguous the way "$" is.
    """
    if amount is None or amount == "":
        return ""
    if isinstance(amount, Money):
        currency, amount = str(amount.currency), amount.amount
    code = (currency or "").upper()
    places = decimal_places(code) if code else 2
    value = Decimal(amount)
    text = f"{value:,.{places}f}"
    return f"{text} {code}" if code else text
