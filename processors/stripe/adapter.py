"""Stripe as a ``PaymentProcessor``: PaymentIntents are payments, Stripe refunds are refunds.

Translates between the neutral interface and ``gateway`` (the SDK calls); nothing else in
Holdfast needs to know what a PaymentIntent, a ``latest_charge`` or a ``decline_code`` is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from moneyed import Money

from processors.interface import Card, EventKind, Payment, PaymentFailure, ProcessorEvent, Refund, Setup
from processors.stripe import gateway

NAME = "stripe"

# Stripe event type -> (neutral kind, where the object's reference is in the payload)
EVENT_KINDS: dict[str, tuple[str, str]] = {
    "payment_intent.succeeded": (EventKind.PAYMENT_SUCCEEDED, "id"),
    "payment_intent.payment_failed": (EventKind.PAYMENT_FAILED, "id"),
    "charge.refunded": (EventKind.CHARGE_REFUNDS_CHANGED, "id"),
    "charge.refund.updated": (EventKind.CHARGE_REFUNDS_CHANGED, "charge"),
}


def _id(value: Any) -> str:
    if isinstance(value, str):
        return value
    return (value or {}).get("id", "") if isinstance(value, Mapping) else getattr(value, "id", "") or ""


def payment_from_stripe(pi: Any) -> Payment:
    error = pi.get("last_payment_error") or None
    failure = None
    if error:
        code = error.get("decline_code") or error.get("code") or ""
        failure = PaymentFailure(
            code=code,
            message=gateway.decline_message(code, error.get("message")),
            charge_reference=error.get("charge") or "",
        )
    next_action = pi.get("next_action") or {}
    redirect = next_action.get("redirect_to_url") or {}
    currency = pi.currency
    return Payment(
        processor=NAME,
        reference=pi.id,
        status=pi.status,
        amount=gateway.money_from_stripe(pi.amount, currency),
        amount_received=gateway.money_from_stripe(pi.get("amount_received") or 0, currency),
        charge_reference=_id(pi.get("latest_charge")),
        client_secret=pi.get("client_secret") or "",
        action_url=redirect.get("url") or "",
        failure=failure,
        metadata=dict(pi.get("metadata") or {}),
        ours=gateway.ours(pi),
        customer_reference=_id(pi.get("customer")),
        method_reference=_id(pi.get("payment_method")),
    )


def setup_from_stripe(seti: Any) -> Setup:
    error = seti.get("last_setup_error") or None
    failure = None
    if error:
        code = error.get("decline_code") or error.get("code") or ""
        failure = PaymentFailure(code=code, message=gateway.decline_message(code, error.get("message")))
    redirect = (seti.get("next_action") or {}).get("redirect_to_url") or {}
    return Setup(
        processor=NAME,
        reference=seti.id,
        status=seti.status,
        customer_reference=_id(seti.get("customer")),
        client_secret=seti.get("client_secret") or "",
        method_reference=_id(seti.get("payment_method")),
        action_url=redirect.get("url") or "",
        failure=failure,
    )


def card_from_stripe(pm: Any) -> Card:
    card = pm.get("card") or {}
    return Card(
        processor=NAME,
        reference=pm.id,
        brand=card.get("display_brand") or card.get("brand") or "card",
        last4=card.get("last4") or "",
        exp_month=int(card.get("exp_month") or 0),
        exp_year=int(card.get("exp_year") or 0),
        customer_reference=_id(pm.get("customer")),
    )


def refund_from_stripe(refund: Any) -> Refund:
    return Refund(
        processor=NAME,
        reference=refund.id,
        status=refund.status,
        amount=gateway.money_from_stripe(refund.amount, refund.currency),
        charge_reference=_id(refund.get("charge")),
        metadata=dict(refund.get("metadata") or {}),
        failure_reason=refund.get("failure_reason") or "",
    )


def event_from_stripe(*, event_id: str, event_type: str, obj: Mapping[str, Any]) -> ProcessorEvent | None:
    """The neutral event for a stored Stripe event, or ``None`` when Holdfast does not act on it."""
    kind = EVENT_KINDS.get(event_type)
    if kind is None:
        return None
    reference = obj.get(kind[1]) if isinstance(obj, Mapping) else None
    if not isinstance(reference, str) or not reference:
        return None
    return ProcessorEvent(processor=NAME, event_id=event_id, kind=kind[0], reference=reference)


class StripeProcessor:
    """Card payments on the platform account (Connect, separate charges and transfers)."""

    name = NAME
    display_name = "Stripe"

    def payment_create(
        self,
        *,
        amount: Money,
        key: str,
        group: str,
        metadata: Mapping[str, str],
        description: str = "",
        customer: str = "",
    ) -> Payment:
        pi = gateway.payment_intent_create(
            amount=amount,
            key=key,
            transfer_group=group,
            metadata={**metadata, "holdfast_namespace": settings.STRIPE_NAMESPACE},
            description=description,
            customer=customer or None,
        )
        return payment_from_stripe(pi)

    def payment_retrieve(self, reference: str) -> Payment:
        return payment_from_stripe(gateway.payment_intent_retrieve(reference))

    def payment_confirm(
        self, reference: str, *, method: str, key: str, return_url: str, save_method: bool = False
    ) -> Payment:
        return payment_from_stripe(
            gateway.payment_intent_confirm(
                reference,
                payment_method=method,
                key=key,
                return_url=return_url,
                setup_future_usage="off_session" if save_method else None,
            )
        )

    def payment_cancel(self, reference: str, *, key: str) -> Payment:
        return payment_from_stripe(gateway.payment_intent_cancel(reference, key=key))

    def refund_create(
        self, *, payment_reference: str, amount: Money, key: str, metadata: Mapping[str, str], reason: str = ""
    ) -> Refund:
        refund = gateway.refund_create(
            payment_intent_id=payment_reference,
            amount=amount,
            key=key,
            reason=reason or "requested_by_customer",
            metadata={**metadata, "holdfast_namespace": settings.STRIPE_NAMESPACE},
        )
        return refund_from_stripe(refund)

    def refunds_for_charge(self, charge_reference: str) -> list[Refund]:
        return [refund_from_stripe(r) for r in gateway.refunds_for_charge(charge_reference)]

    def client_config(self) -> Mapping[str, str]:
        return {"publishable_key": settings.STRIPE_PUBLISHABLE_KEY}

    # --- Saved cards (SavedCardsProcessor) ---------------------------------------------------

    def customer_create(self, *, key: str, email: str, metadata: Mapping[str, str]) -> str:
        customer = gateway.customer_create(
            key=key, email=email, metadata={**metadata, "holdfast_namespace": settings.STRIPE_NAMESPACE}
        )
        return customer.id

    def payment_attach_customer(self, reference: str, *, customer: str, key: str, save_method: bool = False) -> Payment:
        return payment_from_stripe(
            gateway.payment_intent_update(
                reference, key=key, customer=customer, setup_future_usage="off_session" if save_method else None
            )
        )

    def setup_create(self, *, customer: str, key: str, metadata: Mapping[str, str]) -> Setup:
        return setup_from_stripe(
            gateway.setup_intent_create(
                customer=customer, key=key, metadata={**metadata, "holdfast_namespace": settings.STRIPE_NAMESPACE}
            )
        )

    def setup_retrieve(self, reference: str) -> Setup:
        return setup_from_stripe(gateway.setup_intent_retrieve(reference))

    def setup_confirm(self, reference: str, *, method: str, key: str, return_url: str) -> Setup:
        return setup_from_stripe(
            gateway.setup_intent_confirm(reference, payment_method=method, key=key, return_url=return_url)
        )

    def cards_list(self, customer: str) -> list[Card]:
        return [card_from_stripe(pm) for pm in gateway.customer_payment_methods(customer)]

    def card_retrieve(self, reference: str) -> Card:
        return card_from_stripe(gateway.payment_method_retrieve(reference))

    def card_detach(self, reference: str, *, key: str) -> Card:
        return card_from_stripe(gateway.payment_method_detach(reference, key=key))

    def default_card(self, customer: str) -> str:
        settings_ = gateway.customer_retrieve(customer).get("invoice_settings") or {}
        return _id(settings_.get("default_payment_method"))

    def default_card_set(self, customer: str, *, card: str, key: str) -> None:
        gateway.customer_default_payment_method_set(customer, payment_method=card, key=key)

    def mobile_key_create(self, customer: str) -> str:
        return gateway.ephemeral_key_create(customer=customer).secret
