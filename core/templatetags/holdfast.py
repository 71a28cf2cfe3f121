"""The one money format and the one date format of the pages: ``{% load holdfast %}``.

- ``{{ task.budget|money }}``, ``{{ line.amount|money:escrow.currency }}`` -> "1,234.50 USD"
- ``{{ event.created_at|when }}`` -> "8 Dec 2026, 03:23 UTC": in the site's time zone
  (``TIME_ZONE``, or the one activated for the request), always with its abbreviation.
- ``{{ row.month|month }}`` -> "Nov 2026" for a month key "2026-11" (as the APIs give it).
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import dateformat, timezone

from core.money import format_money

register = template.Library()

DATETIME_FORMAT = "j M Y, H:i T"


@register.filter
def money(amount, currency: str | None = None) -> str:
    try:
        return format_money(amount, currency)
    except (ArithmeticError, TypeError, ValueError):
        return ""


def format_when(value: dt.datetime | None) -> str:
    if value is None or value == "":
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return dateformat.format(value, DATETIME_FORMAT)


@register.filter
def when(value: dt.datetime | None) -> str:
    return format_when(value)


def format_month(value: str) -> str:
    """A "YYYY-MM" month key in words ("2026-11" -> "Nov 2026"); anything else unchanged."""
    try:
        return dateformat.format(dt.datetime.strptime(str(value), "%Y-%m"), "M Y")
    except ValueError:
        return value


@register.filter
def month(value: str) -> str:
    return format_month(value)
