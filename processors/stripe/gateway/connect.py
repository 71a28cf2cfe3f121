"""Connect accounts and onboarding links, transfers to taskers, payouts to their banks, balances."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import stripe
from django.conf import settings
from moneyed import Money

from core.money import to_minor_units
from processors.keys import idempotency_key
from processors.stripe.gateway import StripeObject, _call, _opts

# --- Connect accounts -----------------------------------------------------------------------


def connected_account_create(*, user_id: int, email: str, country: str | None = None) -> StripeObject:
    return _call(
        stripe.Account.create,
        type="express",
        country=country or settings.STRIPE_CONNECT_COUNTRY,
        email=email,
        capabilities={"card_payments": {"requested": True}, "transfers": {"requested": True}},
        # Holdfast decides when money leaves for the bank (one payout per payout request).
        settings={"payouts": {"schedule": {"interval": "manual"}}},
        metadata={"holdfast_user_id": str(user_id), "holdfast_namespace": settings.STRIPE_NAMESPACE},
        **_opts(idempotency_key=idempotency_key("account", user_id)),
    )


def connected_account_retrieve(account_id: str) -> StripeObject:
    return _call(stripe.Account.retrieve, account_id, **_opts())


def account_link_create(*, account_id: str, refresh_url: str, return_url: str) -> StripeObject:
    # Account links are single-use and short-lived, so each call is a new link (no fixed key).
    return _call(
        stripe.AccountLink.create,
        account=account_id,
        refresh_url=refresh_url,
        return_url=return_url,
        type="account_onboarding",
        **_opts(idempotency_key=idempotency_key("account-link", account_id, uuid.uuid4().hex)),
    )


def login_link_create(*, account_id: str) -> StripeObject:
    """A single-use link to the account's Express dashboard. Not a money write: no key needed."""
    return _call(stripe.Account.create_login_link, account_id, **_opts())


def payout_schedule_manual(*, account_id: str) -> StripeObject:
    return _call(
        stripe.Account.modify,
        account_id,
        settings={"payouts": {"schedule": {"interval": "manual"}}},
        **_opts(idempotency_key=idempotency_key("account-schedule-manual", account_id)),
    )


# --- Moving money to taskers ----------------------------------------------------------------


def transfer_create(
    *,
    amount: Money,
    destination: str,
    key: str,
    transfer_group: str | None = None,
    source_transaction: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> StripeObject:
    """Platform balance -> a connected account. ``source_transaction`` ties it to a charge's funds."""
    currency = str(amount.currency)
    params: dict[str, Any] = {
        "amount": to_minor_units(amount.amount, currency),
        "currency": currency.lower(),
        "destination": destination,
        "metadata": dict(metadata or {}),
    }
    if transfer_group:
        params["transfer_group"] = transfer_group
    if source_transaction:
        params["source_transaction"] = source_transaction
    return _call(stripe.Transfer.create, **params, **_opts(idempotency_key=key))


def transfer_reverse(*, transfer_id: str, amount: Money | None, key: str) -> StripeObject:
    params: dict[str, Any] = {}
    if amount is not None:
        params["amount"] = to_minor_units(amount.amount, str(amount.currency))
    return _call(stripe.Transfer.create_reversal, transfer_id, **params, **_opts(idempotency_key=key))


def transfer_retrieve(transfer_id: str) -> StripeObject:
    return _call(stripe.Transfer.retrieve, transfer_id, **_opts())


def payout_create(
    *, account_id: str, amount: Money, key: str, metadata: Mapping[str, str] | None = None
) -> StripeObject:
    """A payout from a connected account's balance to its bank account."""
    currency = str(amount.currency)
    payout = _call(
        stripe.Payout.create,
        amount=to_minor_units(amount.amount, currency),
        currency=currency.lower(),
        metadata=dict(metadata or {}),
        **_opts(idempotency_key=key, account=account_id),
    )
    payout.stripe_account = account_id
    return payout


def payout_retrieve(*, account_id: str, payout_id: str) -> StripeObject:
    payout = _call(stripe.Payout.retrieve, payout_id, **_opts(account=account_id))
    payout.stripe_account = account_id
    return payout


def payout_cancel(*, account_id: str, payout_id: str, key: str) -> StripeObject:
    payout = _call(stripe.Payout.cancel, payout_id, **_opts(idempotency_key=key, account=account_id))
    payout.stripe_account = account_id
    return payout


def balance_retrieve(*, account_id: str | None = None) -> StripeObject:
    return _call(stripe.Balance.retrieve, **_opts(account=account_id))


def platform_fees_total(*, currency: str) -> int:
    """What Stripe has charged the platform in processing fees so far, in minor units (for
    reconciliation): the fees the ledger does not book. A dispute's fee (on its ``adjustment``) is
    booked with the chargeback, as a chargeback loss, so it is left out here."""
    transactions = _call(stripe.BalanceTransaction.list, currency=currency.lower(), limit=100, **_opts())
    return sum(txn.fee for txn in transactions.auto_paging_iter() if txn.type != "adjustment")
