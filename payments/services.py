"""Writes for payments outside the escrow lifecycle: fee policies. Escrow services are in ``payments.escrow``."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.models import User
from core.money import validate_currency
from core.validation import model_full_clean
from payments.models import FeePolicy


def fee_policy_active(*, currency: str) -> FeePolicy:
    """The active fee policy for ``currency``; version 1 with the default rates is created on first use."""
    policy = FeePolicy.objects.filter(currency=currency, is_active=True).first()
    if policy is not None:
        return policy
    try:
        with transaction.atomic():
            return FeePolicy.objects.create(
                currency=currency,
                version=1,
                client_fee_percent=settings.FEE_DEFAULT_CLIENT_PERCENT,
                commission_percent=settings.FEE_DEFAULT_COMMISSION_PERCENT,
            )
    except IntegrityError:  # created concurrently
        return FeePolicy.objects.get(currency=currency, is_active=True)


@transaction.atomic
def fee_policy_publish(*, currency: str, actor: User | None, **rates: Decimal | None) -> FeePolicy:
    """Make a new version of the currency's fee policy the active one. Existing escrows keep theirs."""
    currency = validate_currency(currency)
    current = FeePolicy.objects.select_for_update().filter(currency=currency, is_active=True).first()
    last_version = FeePolicy.objects.filter(currency=currency).aggregate(v=Max("version"))["v"] or 0
    if current is not None:
        current.is_active = False
        current.save(update_fields=["is_active"])
    policy = FeePolicy(currency=currency, version=last_version + 1, is_active=True, created_by=actor, **rates)
    model_full_clean(policy, code="fee_policy_invalid")
    policy.save()
    return policy
