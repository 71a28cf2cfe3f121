"""Periods and filters as people send them (``?period=30d``, ``?date_from=…``), checked once.

Pages, CSV exports and the API all parse their query through here, so a bad period or filter gets
the same sentence and code everywhere (``period_invalid``, ``date_invalid``, …) and nothing runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import timezone

from core.errors import ValidationError

PERIOD_DAYS = {"7d": 7, "30d": 30, "90d": 90}
PERIODS = ("7d", "30d", "90d", "12m", "custom")
MAX_DAYS = 3700  # about ten years: enough for any report, small enough to answer quickly


@dataclass(frozen=True)
class Period:
    key: str  # one of PERIODS, or "all"
    date_from: dt.date | None  # inclusive; None: from the beginning
    date_to: dt.date | None  # inclusive; None: up to now

    @property
    def start(self) -> dt.datetime | None:
        return start_of_day(self.date_from) if self.date_from else None

    @property
    def end(self) -> dt.datetime | None:
        """Exclusive: the start of the day after ``date_to``."""
        return start_of_day(self.date_to + dt.timedelta(days=1)) if self.date_to else None

    def months(self) -> list[str]:
        """Every month the period touches, oldest first, as ``YYYY-MM``."""
        if self.date_from is None or self.date_to is None:
            return []
        months, year, month = [], self.date_from.year, self.date_from.month
        while (year, month) <= (self.date_to.year, self.date_to.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def days(self) -> list[dt.date]:
        if self.date_from is None or self.date_to is None:
            return []
        return [self.date_from + dt.timedelta(days=i) for i in range((self.date_to - self.date_from).days + 1)]


def start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def parse_date(value: object, *, field: str) -> dt.date | None:
    """``YYYY-MM-DD`` or blank (no limit); anything else is refused with ``date_invalid``."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"Give {field.replace('_', ' ')} as a date like 2026-11-30.", code="date_invalid", details={"field": field}
        ) from None


def period_parse(
    params: Mapping[str, object], *, default: str = "30d", allow_all: bool = False, today: dt.date | None = None
) -> Period:
    """The period a query asks for.

    ``period``: ``7d``, ``30d``, ``90d`` (the last N days, today included), ``12m`` (this month and
    the eleven before it), or ``custom`` with ``date_from`` and ``date_to`` (inclusive). Dates alone
    mean ``custom``. Left out: ``default`` (``allow_all``: everything, for histories).
    """
    today = today or timezone.localdate()
    key = str(params.get("period") or "")
    date_from = parse_date(params.get("date_from"), field="date_from")
    date_to = parse_date(params.get("date_to"), field="date_to")
    if not key:
        key = "custom" if (date_from or date_to) else default
    if key == "all" and allow_all:
        return Period("all", None, None)
    if key not in PERIODS:
        allowed = [*PERIODS, *(["all"] if allow_all else [])]
        raise ValidationError(
            f"Choose a period: {', '.join(allowed)}.", code="period_invalid", details={"allowed": allowed}
        )
    if key != "custom":
        if date_from or date_to:
            raise ValidationError("Give dates only with period=custom.", code="period_invalid", details={"period": key})
        if key == "12m":
            year, month = today.year, today.month - 11
            if month < 1:
                year, month = year - 1, month + 12
            return Period(key, dt.date(year, month, 1), today)
        return Period(key, today - dt.timedelta(days=PERIOD_DAYS[key] - 1), today)
    if allow_all and (date_from or date_to) and not (date_from and date_to):
        return _checked(Period(key, date_from, date_to))
    if not (date_from and date_to):
        raise ValidationError(
            "A custom period needs both date_from and date_to.", code="period_invalid", details={"period": key}
        )
    return _checked(Period(key, date_from, date_to))


def _checked(period: Period) -> Period:
    if period.date_from and period.date_to:
        if period.date_from > period.date_to:
            raise ValidationError(
                "The start date must be on or before the end date.", code="date_range_invalid", details={}
            )
        if (period.date_to - period.date_from).days >= MAX_DAYS:
            raise ValidationError(
                f"A period may span at most {MAX_DAYS} days.",
                code="date_range_too_long",
                details={"max_days": MAX_DAYS},
            )
    return period
