"""Onboarding: a tasker's connected account at the processor (Stripe Connect Express).

Holdfast creates the account with a *manual* payout schedule (Holdfast decides when money moves),
sends the tasker to the processor's hosted onboarding through a single-use link, and keeps the
account's status (details submitted, payouts enabled, what is still due, the bank account's
summary) as the processor reports it: when the tasker comes back, and on every ``account.updated``.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.events import publish
from payouts.errors import PayoutError
from payouts.events import PayoutAccountUpdated
from payouts.models import PayoutAccount
from processors.interface import ConnectedAccount, EventKind, ProcessorEvent
from processors.registry import event_handler, payout_processor

logger = logging.getLogger(__name__)


def _require_tasker(user: User) -> None:
    profile = getattr(user, "profile", None)
    if profile is None or not profile.is_tasker:
        raise PayoutError("Only taskers are paid out. Add the tasker role to your profile first.", code="not_a_tasker")


def payout_account_get_or_create(*, user: User, country: str | None = None) -> PayoutAccount:
    """The tasker's payout account, created at the processor on first use.

    Idempotent: the processor call carries a key derived from the user's id, so two clicks (or a
    retry after a lost answer) make one account; the row is unique per user.
    """
    _require_tasker(user)
    existing = PayoutAccount.objects.filter(user=user).first()
    if existing is not None:
        return existing
    processor = payout_processor()
    account = processor.connected_account_create(
        user_id=user.pk, email=user.email, country=country or settings.STRIPE_CONNECT_COUNTRY
    )
    with transaction.atomic():
        row, created = PayoutAccount.objects.get_or_create(
            user=user,
            defaults={"processor": processor.name, "reference": account.reference, "country": account.country},
        )
        if created:
            _apply(row, account)
            row.save()
    return row


def payout_onboarding_link(*, user: User, refresh_url: str, return_url: str) -> str:
    """Where the tasker gives the processor what it needs (a new single-use link each time: an
    expired one sends the tasker to ``refresh_url``, which asks for a fresh one)."""
    account = payout_account_get_or_create(user=user)
    return payout_processor(account.processor).onboarding_link_create(
        reference=account.reference, refresh_url=refresh_url, return_url=return_url
    )


def payout_dashboard_link(*, user: User) -> str:
    """The tasker's own dashboard at the processor (bank details, payouts): once onboarded."""
    account = PayoutAccount.objects.filter(user=user).first()
    if account is None or not account.details_submitted:
        raise PayoutError(
            "Finish setting up your payout account first; the dashboard opens once Stripe has your details.",
            code="payout_account_not_onboarded",
        )
    return payout_processor(account.processor).dashboard_link_create(reference=account.reference)


def _apply(row: PayoutAccount, account: ConnectedAccount) -> None:
    row.country = account.country or row.country
    row.default_currency = account.default_currency
    row.details_submitted = account.details_submitted
    row.charges_enabled = account.charges_enabled
    row.payouts_enabled = account.payouts_enabled
    row.requirements_due = list(account.requirements_due)
    row.disabled_reason = account.disabled_reason
    bank = account.bank_accounts[0] if account.bank_accounts else None
    new_bank = (bank.reference if bank else "") != row.bank_reference
    row.bank_name = bank.bank_name if bank else ""
    row.bank_last4 = bank.last4 if bank else ""
    row.bank_currency = bank.currency if bank else ""
    row.bank_reference = bank.reference if bank else ""
    if new_bank:
        row.bank_problem = ""  # the tasker changed their bank details: the old problem is gone
    row.synced_at = timezone.now()
    if row.details_submitted and row.onboarded_at is None:
        row.onboarded_at = row.synced_at


def payout_account_sync(*, reference: str) -> PayoutAccount | None:
    """Re-read the account from the processor and keep what it says (the payload of an event is
    not trusted). ``None`` for an account that is not one of ours. Idempotent."""
    row = PayoutAccount.objects.filter(reference=reference).first()
    if row is None:
        return None
    account = payout_processor(row.processor).connected_account_retrieve(reference)
    with transaction.atomic():
        row = PayoutAccount.objects.select_for_update().get(pk=row.pk)
        was_enabled = row.can_receive_payouts
        before = (row.status, tuple(row.requirements_due), row.bank_reference)
        _apply(row, account)
        row.save()
        if (row.status, tuple(row.requirements_due), row.bank_reference) != before:
            publish(
                PayoutAccountUpdated(
                    tasker_id=row.user_id,
                    account_reference=row.reference,
                    status=row.status,
                    requirements_due=tuple(row.requirements_due),
                    became_enabled=row.can_receive_payouts and not was_enabled,
                )
            )
    return row


def payout_account_refresh(*, user: User) -> PayoutAccount | None:
    """The tasker came back from onboarding (or opened the page): read the account again."""
    account = PayoutAccount.objects.filter(user=user).first()
    if account is None:
        return None
    return payout_account_sync(reference=account.reference)


@event_handler(EventKind.ACCOUNT_UPDATED)
def _account_updated(event: ProcessorEvent) -> None:
    payout_account_sync(reference=event.reference)
