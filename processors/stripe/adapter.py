"""Stripe as a ``PaymentProcessor``: PaymentIntents are payments, Stripe refunds are refunds.

Translates between the neutral interface and ``gateway`` (the SDK calls); nothing else in
Holdfast needs to know what a PaymentIntent, a ``latest_charge`` or a ``decline_code`` is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from moneyed import Money

from core.money import supported_currencies
from processors.interface import (
    BankAccountSummary,
    BankPayout,
    Card,
    Chargeback,
    ConnectedAccount,
    EventKind,
    Payment,
    PaymentError,
    PaymentFailure,
    PlatformBalance,
    ProcessorEvent,
    Refund,
    Setup,
    Transfer,
    TransferReversal,
)
from processors.stripe import gateway

NAME = "stripe"

# Stripe event type -> (neutral kind, where the object's reference is in the payload)
EVENT_KINDS: dict[str, tuple[str, str]] = {
    "payment_intent.succeeded": (EventKind.PAYMENT_SUCCEEDED, "id"),
    "payment_intent.payment_failed": (EventKind.PAYMENT_FAILED, "id"),
    "charge.refunded": (EventKind.CHARGE_REFUNDS_CHANGED, "id"),
    "charge.refund.updated": (EventKind.CHARGE_REFUNDS_CHANGED, "charge"),
    # Connect endpoint: a tasker's connected account and the payouts to their bank.
    "account.updated": (EventKind.ACCOUNT_UPDATED, "id"),
    "account.external_account.created": (EventKind.ACCOUNT_UPDATED, "account"),
    "account.external_account.updated": (EventKind.ACCOUNT_UPDATED, "account"),
    "account.external_account.deleted": (EventKind.ACCOUNT_UPDATED, "account"),
    "payout.paid": (EventKind.BANK_PAYOUT_CHANGED, "id"),
    "payout.failed": (EventKind.BANK_PAYOUT_CHANGED, "id"),
    "payout.canceled": (EventKind.BANK_PAYOUT_CHANGED, "id"),
    "payout.updated": (EventKind.BANK_PAYOUT_CHANGED, "id"),
    "charge.dispute.created": (EventKind.CHARGEBACK_CREATED, "id"),
    "charge.dispute.updated": (EventKind.CHARGEBACK_UPDATED, "id"),
    "charge.dispute.closed": (EventKind.CHARGEBACK_CLOSED, "id"),
    "charge.dispute.funds_withdrawn": (EventKind.CHARGEBACK_FUNDS_WITHDRAWN, "id"),
    "charge.dispute.funds_reinstated": (EventKind.CHARGEBACK_FUNDS_REINSTATED, "id"),
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


def connected_account_from_stripe(acct: Any) -> ConnectedAccount:
    requirements = acct.get("requirements") or {}
    external = (acct.get("external_accounts") or {}).get("data") or []
    banks = tuple(
        BankAccountSummary(
            bank_name=bank.get("bank_name") or "",
            last4=bank.get("last4") or "",
            currency=(bank.get("currency") or "").upper(),
            country=bank.get("country") or "",
            reference=bank.get("id") or "",
        )
        for bank in sorted(external, key=lambda b: not b.get("default_for_currency"))
        if bank.get("object") == "bank_account"
    )
    schedule = ((acct.get("settings") or {}).get("payouts") or {}).get("schedule") or {}
    return ConnectedAccount(
        processor=NAME,
        reference=acct.id,
        country=acct.get("country") or "",
        default_currency=(acct.get("default_currency") or "").upper(),
        details_submitted=bool(acct.get("details_submitted")),
        charges_enabled=bool(acct.get("charges_enabled")),
        payouts_enabled=bool(acct.get("payouts_enabled")),
        requirements_due=tuple(requirements.get("currently_due") or ()),
        disabled_reason=requirements.get("disabled_reason") or "",
        payout_schedule=schedule.get("interval") or "",
        bank_accounts=banks,
        email=acct.get("email") or "",
    )


def transfer_from_stripe(transfer: Any) -> Transfer:
    return Transfer(
        processor=NAME,
        reference=transfer.id,
        amount=gateway.money_from_stripe(transfer.amount, transfer.currency),
        destination=_id(transfer.get("destination")),
        amount_reversed=gateway.money_from_stripe(transfer.get("amount_reversed") or 0, transfer.currency),
        metadata=dict(transfer.get("metadata") or {}),
    )


def bank_payout_from_stripe(payout: Any, account_reference: str) -> BankPayout:
    return BankPayout(
        processor=NAME,
        reference=payout.id,
        account_reference=account_reference,
        amount=gateway.money_from_stripe(payout.amount, payout.currency),
        status=payout.status,
        arrival_date=payout.get("arrival_date"),
        failure_code=payout.get("failure_code") or "",
        failure_message=payout.get("failure_message") or "",
        metadata=dict(payout.get("metadata") or {}),
    )


def chargeback_from_stripe(dispute: Any) -> Chargeback:
    """A Stripe Dispute in neutral words. Its balance transactions say what Stripe took from the
    platform's balance (negative: the amount and the dispute fee) and gave back (positive, when won)."""
    currency = dispute.currency
    transactions = list(dispute.get("balance_transactions") or [])
    transactions = [t for t in transactions if not isinstance(t, str)]  # always expanded by Stripe
    taken = [t for t in transactions if (t.get("amount") or 0) < 0]
    given = [t for t in transactions if (t.get("amount") or 0) > 0]
    fee = sum(int(t.get("fee") or 0) for t in taken)
    details = dispute.get("evidence_details") or {}
    return Chargeback(
        processor=NAME,
        reference=dispute.id,
        charge_reference=_id(dispute.get("charge")),
        status=dispute.status,
        amount=gateway.money_from_stripe(dispute.amount, currency),
        fee=gateway.money_from_stripe(fee, currency),
        withdrawn=bool(taken),
        reinstated=bool(given),
        reason=dispute.get("reason") or "",
        payment_reference=_id(dispute.get("payment_intent")),
        evidence_due_by=details.get("due_by"),
        evidence_submissions=int(details.get("submission_count") or 0),
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

    # --- payouts: Connect Express accounts, transfers, payouts to banks ---------------------

    def connected_account_create(self, *, user_id: int, email: str, country: str) -> ConnectedAccount:
        return connected_account_from_stripe(
            gateway.connected_account_create(user_id=user_id, email=email, country=country)
        )

    def connected_account_retrieve(self, reference: str) -> ConnectedAccount:
        return connected_account_from_stripe(gateway.connected_account_retrieve(reference))

    def onboarding_link_create(self, *, reference: str, refresh_url: str, return_url: str) -> str:
        return gateway.account_link_create(account_id=reference, refresh_url=refresh_url, return_url=return_url).url

    def dashboard_link_create(self, *, reference: str) -> str:
        return gateway.login_link_create(account_id=reference).url

    def transfer_create(
        self, *, amount: Money, destination: str, key: str, group: str, metadata: Mapping[str, str]
    ) -> Transfer:
        try:
            transfer = gateway.transfer_create(
                amount=amount,
                destination=destination,
                key=key,
                transfer_group=group,
                metadata={**metadata, "holdfast_namespace": settings.STRIPE_NAMESPACE},
            )
        except PaymentError as exc:
            if exc.code == "stripe_balance_insufficient":
                raise PaymentError(
                    "The platform's card funds are not available at Stripe yet; the payout waits for them.",
                    code="platform_balance_insufficient",
                ) from exc
            raise
        return transfer_from_stripe(transfer)

    def transfer_retrieve(self, reference: str) -> Transfer:
        return transfer_from_stripe(gateway.transfer_retrieve(reference))

    def transfer_reverse(self, *, reference: str, amount: Money, key: str) -> TransferReversal:
        reversal = gateway.transfer_reverse(transfer_id=reference, amount=amount, key=key)
        return TransferReversal(
            processor=NAME,
            reference=reversal.id,
            transfer_reference=_id(reversal.get("transfer")) or reference,
            amount=gateway.money_from_stripe(reversal.amount, reversal.currency),
        )

    def bank_payout_create(
        self, *, account_reference: str, amount: Money, key: str, metadata: Mapping[str, str]
    ) -> BankPayout:
        payout = gateway.payout_create(
            account_id=account_reference,
            amount=amount,
            key=key,
            metadata={**metadata, "holdfast_namespace": settings.STRIPE_NAMESPACE},
        )
        return bank_payout_from_stripe(payout, account_reference)

    def bank_payout_retrieve(self, *, account_reference: str, reference: str) -> BankPayout:
        return bank_payout_from_stripe(
            gateway.payout_retrieve(account_id=account_reference, payout_id=reference), account_reference
        )

    def bank_payout_cancel(self, *, account_reference: str, reference: str, key: str) -> BankPayout:
        return bank_payout_from_stripe(
            gateway.payout_cancel(account_id=account_reference, payout_id=reference, key=key), account_reference
        )

    def platform_balance(self) -> PlatformBalance:
        balance = gateway.balance_retrieve()

        def amounts(entries: Any) -> dict[str, Money]:
            found = {e.currency.upper(): gateway.money_from_stripe(e.amount, e.currency) for e in entries}
            return {c: found.get(c, Money(0, c)) for c in {*supported_currencies(), *found}}

        return PlatformBalance(available=amounts(balance.available), pending=amounts(balance.pending))

    def fees_total(self, *, currency: str) -> Money:
        return gateway.money_from_stripe(gateway.platform_fees_total(currency=currency), currency)

    def chargeback_references(self, *, since: datetime) -> list[str]:
        return [dispute.id for dispute in gateway.disputes_opened_since(created_since=int(since.timestamp()))]

    def chargeback_retrieve(self, reference: str) -> Chargeback:
        return chargeback_from_stripe(gateway.dispute_retrieve(reference))

    def chargeback_file_upload(self, *, name: str, content: bytes, content_type: str, key: str) -> str:
        return gateway.file_create(name=name, content=content, content_type=content_type, key=key).id

    def chargeback_evidence_submit(
        self, reference: str, *, text: Mapping[str, str], files: Mapping[str, str], key: str
    ) -> Chargeback:
        evidence = {**text, **files}
        return chargeback_from_stripe(gateway.dispute_submit_evidence(dispute_id=reference, evidence=evidence, key=key))

    def chargeback_accept(self, reference: str, *, key: str) -> Chargeback:
        return chargeback_from_stripe(gateway.dispute_accept(dispute_id=reference, key=key))

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
