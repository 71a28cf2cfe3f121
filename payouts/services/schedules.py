"""The scheduling stage of payouts: the next date, a tasker's schedule, and requesting the payouts that are due."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.money import parse_amount, quantize, validate_currency
from payouts.errors import PayoutError, PayoutInputError
from payouts.models import PayoutAccount
from payouts.services.requests import payout_request
from wallets.selectors import account_balance, wallet_account_find

logger = logging.getLogger(__name__)


def schedule_next_at(schedule: str, now: datetime) -> datetime | None:
    """Weekly: next Monday 06:00 UTC; monthly: the 1st of next month, 06:00 UTC; manual: never."""
    start = now.astimezone(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    if schedule == PayoutAccount.Schedule.WEEKLY:
        days = (7 - start.weekday()) % 7 or 7
        return start + timedelta(days=days)
    if schedule == PayoutAccount.Schedule.MONTHLY:
        first = start.replace(day=1)
        return (first + timedelta(days=32)).replace(day=1)
    return None


@transaction.atomic
def payout_schedule_set(
    *, user: User, schedule: str, currency: str | None = None, threshold: Decimal | str | int | None = None
) -> PayoutAccount:
    """Choose when payouts happen: when asked (manual), weekly or monthly, each time for the whole
    available balance in ``currency`` once it reaches ``threshold`` (and the minimum payout)."""
    if schedule not in PayoutAccount.Schedule.values:
        raise PayoutInputError(
            "Choose manual, weekly or monthly.", code="payout_schedule_invalid", details={"field": "schedule"}
        )
    account = PayoutAccount.objects.select_for_update().filter(user=user).first()
    if account is None:
        raise PayoutError("Set up your payout account first.", code="payout_account_missing")
    currency = validate_currency(currency or account.bank_currency or settings.DEFAULT_CURRENCY)
    value = Decimal("0")
    if threshold not in (None, ""):
        zero = str(threshold).strip("0.") == ""
        value = Decimal("0") if zero else parse_amount(threshold, currency, field="threshold")
    account.schedule = schedule
    account.schedule_currency = currency
    account.schedule_threshold = value
    account.schedule_next_at = schedule_next_at(schedule, timezone.now())
    account.save()
    return account


def payouts_schedule_due(*, now: datetime | None = None) -> int:
    """Request the scheduled payouts whose day has come (beat). Each account is taken with
    ``SKIP LOCKED`` so several workers share the work; an account below its threshold waits for
    its next date. Returns how many payouts were requested."""
    now = now or timezone.now()
    requested = 0
    while True:
        with transaction.atomic():
            account = (
                PayoutAccount.objects.select_for_update(skip_locked=True)
                .filter(schedule__in=[PayoutAccount.Schedule.WEEKLY, PayoutAccount.Schedule.MONTHLY])
                .filter(schedule_next_at__lte=now)
                .select_related("user")
                .order_by("schedule_next_at", "pk")
                .first()
            )
            if account is None:
                return requested
            currency = account.schedule_currency or settings.DEFAULT_CURRENCY
            wallet = wallet_account_find(user=account.user, currency=currency)
            available = account_balance(account=wallet) if wallet else Decimal("0")
            floor = max(account.schedule_threshold, quantize(settings.PAYOUT_MIN_AMOUNT, currency))
            if available >= floor:
                try:
                    with transaction.atomic():
                        payout_request(tasker=account.user, amount=available, currency=currency, scheduled=True)
                    requested += 1
                except PayoutError as exc:
                    logger.warning("Scheduled payout for %s not requested: %s", account.user_id, exc)
                except PayoutInputError as exc:
                    logger.warning("Scheduled payout for %s not requested: %s", account.user_id, exc)
            account.schedule_next_at = schedule_next_at(account.schedule, now)
            account.save(update_fields=["schedule_next_at", "updated_at"])
