"""Taking payments: PaymentIntents, charges, refunds, customers, SetupIntents and saved cards."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe
from django.conf import settings
from moneyed import Money

from core.money import to_minor_units
from processors.stripe.gateway import StripeObject, _call, _opts

# --- Payments --------------------------------------------------------------------------------


def payment_intent_create(
    *,
    amount: Money,
    key: str,
    transfer_group: str,
    metadata: Mapping[str, str],
    description: str = "",
    customer: str | None = None,
    payment_method: str | None = None,
    confirm: bool = False,
    return_url: str | None = None,
    capture_method: str = "automatic",
    setup_future_usage: str | None = None,
) -> StripeObject:
    """A PaymentIntent on the platform account, captured automatically by default.
    ``setup_future_usage`` (with ``customer``) saves the card it is paid with for that customer."""
    currency = str(amount.currency)
    params: dict[str, Any] = {
        "amount": to_minor_units(amount.amount, currency),
        "currency": currency.lower(),
        "transfer_group": transfer_group,
        "metadata": dict(metadata),
        "capture_method": capture_method,
    }
    if description:
        params["description"] = description
    if customer:
        params["customer"] = customer
    if setup_future_usage:
        params["setup_future_usage"] = setup_future_usage
    if payment_method:
        params["payment_method"] = payment_method
        params["payment_method_types"] = ["card"]
    else:
        params["automatic_payment_methods"] = {"enabled": True, "allow_redirects": "always"}
    if confirm:
        params["confirm"] = True
        if return_url:
            params["return_url"] = return_url
    return _call(stripe.PaymentIntent.create, **params, **_opts(idempotency_key=key))


def payment_intent_confirm(
    payment_intent_id: str,
    *,
    payment_method: str,
    key: str,
    return_url: str | None = None,
    setup_future_usage: str | None = None,
) -> StripeObject:
    params: dict[str, Any] = {"payment_method": payment_method}
    if setup_future_usage:
        params["setup_future_usage"] = setup_future_usage
    if return_url:
        params["return_url"] = return_url
    return _call(stripe.PaymentIntent.confirm, payment_intent_id, **params, **_opts(idempotency_key=key))


def payment_intent_retrieve(payment_intent_id: str) -> StripeObject:
    return _call(stripe.PaymentIntent.retrieve, payment_intent_id, **_opts())


def payment_intent_cancel(payment_intent_id: str, *, key: str) -> StripeObject:
    return _call(stripe.PaymentIntent.cancel, payment_intent_id, **_opts(idempotency_key=key))


def payment_intent_update(
    payment_intent_id: str, *, key: str, customer: str, setup_future_usage: str | None = None
) -> StripeObject:
    params: dict[str, Any] = {"customer": customer}
    if setup_future_usage:
        params["setup_future_usage"] = setup_future_usage
    return _call(stripe.PaymentIntent.modify, payment_intent_id, **params, **_opts(idempotency_key=key))


def charge_retrieve(charge_id: str) -> StripeObject:
    return _call(stripe.Charge.retrieve, charge_id, **_opts())


def refund_create(
    *, payment_intent_id: str, amount: Money, key: str, reason: str = "requested_by_customer", metadata=None
) -> StripeObject:
    currency = str(amount.currency)
    return _call(
        stripe.Refund.create,
        payment_intent=payment_intent_id,
        amount=to_minor_units(amount.amount, currency),
        reason=reason,
        metadata=dict(metadata or {}),
        **_opts(idempotency_key=key),
    )


def refunds_for_charge(charge_id: str) -> list[StripeObject]:
    return list(_call(stripe.Refund.list, charge=charge_id, limit=100, **_opts()).auto_paging_iter())


# --- Customers and saved cards ---------------------------------------------------------------


def customer_create(*, key: str, email: str, metadata: Mapping[str, str]) -> StripeObject:
    return _call(stripe.Customer.create, email=email, metadata=dict(metadata), **_opts(idempotency_key=key))


def customer_retrieve(customer_id: str) -> StripeObject:
    return _call(stripe.Customer.retrieve, customer_id, **_opts())


def customer_default_payment_method_set(customer_id: str, *, payment_method: str, key: str) -> StripeObject:
    return _call(
        stripe.Customer.modify,
        customer_id,
        invoice_settings={"default_payment_method": payment_method},
        **_opts(idempotency_key=key),
    )


def setup_intent_create(*, customer: str, key: str, metadata: Mapping[str, str]) -> StripeObject:
    """A SetupIntent saving a card for the customer's later payments (off session, as Holdfast charges
    saved cards while the client waits on a page or in the app)."""
    return _call(
        stripe.SetupIntent.create,
        customer=customer,
        usage="off_session",
        automatic_payment_methods={"enabled": True, "allow_redirects": "always"},
        metadata=dict(metadata),
        **_opts(idempotency_key=key),
    )


def setup_intent_retrieve(setup_intent_id: str) -> StripeObject:
    return _call(stripe.SetupIntent.retrieve, setup_intent_id, **_opts())


def setup_intent_confirm(setup_intent_id: str, *, payment_method: str, key: str, return_url: str) -> StripeObject:
    return _call(
        stripe.SetupIntent.confirm,
        setup_intent_id,
        payment_method=payment_method,
        return_url=return_url,
        **_opts(idempotency_key=key),
    )


def payment_method_retrieve(payment_method_id: str) -> StripeObject:
    return _call(stripe.PaymentMethod.retrieve, payment_method_id, **_opts())


def customer_payment_methods(customer_id: str) -> list[StripeObject]:
    return list(
        _call(stripe.Customer.list_payment_methods, customer_id, type="card", limit=100, **_opts()).auto_paging_iter()
    )


def payment_method_detach(payment_method_id: str, *, key: str) -> StripeObject:
    return _call(stripe.PaymentMethod.detach, payment_method_id, **_opts(idempotency_key=key))


def ephemeral_key_create(*, customer: str) -> StripeObject:
    """A key for the mobile SDKs, for the API version the app pins (Stripe wants it said)."""
    opts = _opts()
    opts.pop("stripe_version")
    return _call(stripe.EphemeralKey.create, customer=customer, stripe_version=settings.STRIPE_API_VERSION, **opts)
