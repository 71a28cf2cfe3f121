"""The Stripe SDK boundary: the only module in Holdfast that imports ``stripe``.

``processors.stripe.adapter`` turns these calls into the neutral ``PaymentProcessor``; the dj-stripe
mirror, Connect onboarding, transfers, payouts and disputes are here for the capabilities above.

Everything that talks to Stripe goes through here, so that:

- the API version is pinned (``settings.STRIPE_API_VERSION``) and the base URL points at the
  emulator when no secret key is configured — one code path for the emulator, test and live;
- every write sends an ``Idempotency-Key`` derived from our own row ids, so a retried job or a
  double click can never charge, refund, transfer or pay out twice;
- amounts cross the boundary as ``Money`` and are turned into integer minor units here only
  (``core.money.to_minor_units`` knows the zero-decimal currencies);
- ``StripeError``s become ``PaymentError``s (an ``ApplicationError`` with a stable code and a
  sentence a person can act on);
- results are mirrored into dj-stripe's tables with ``sync_from_stripe_data``.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Mapping
from typing import Any

import stripe
from django.conf import settings
from moneyed import Money

from core.money import from_minor_units, to_minor_units
from processors.interface import PaymentError, PaymentProviderUnavailable
from processors.keys import idempotency_key
from processors.pacing import write_slot_wait

logger = logging.getLogger(__name__)

StripeObject = stripe.StripeObject
__all__ = ["PaymentError", "PaymentProviderUnavailable", "idempotency_key"]  # with the functions below
SignatureVerificationError = stripe.SignatureVerificationError


_DECLINE_MESSAGES = {
    "insufficient_funds": "The card was declined for insufficient funds. Try another card.",
    "generic_decline": "The card was declined. Try another card or contact your bank.",
    "expired_card": "The card has expired. Try another card.",
    "incorrect_cvc": "The card's security code is incorrect.",
    "payment_intent_authentication_failure": (
        "The card's authentication (3-D Secure) failed. Try again or use another card."
    ),
}


def configure() -> None:
    # Read at call time so tests (and `make run`) can point the SDK at an emulator on any port.
    stripe.api_key = settings.STRIPE_SECRET_KEY
    stripe.api_version = settings.STRIPE_API_VERSION
    stripe.max_network_retries = 2
    if settings.STRIPE_EMULATED:
        stripe.api_base = settings.STRIPE_EMULATOR_URL
        stripe.upload_api_base = settings.STRIPE_EMULATOR_URL
    else:
        stripe.api_base = "https://api.stripe.com"
        stripe.upload_api_base = "https://files.stripe.com"


def _opts(*, idempotency_key: str | None = None, account: str | None = None) -> dict[str, Any]:
    configure()
    opts: dict[str, Any] = {"api_key": settings.STRIPE_SECRET_KEY, "stripe_version": settings.STRIPE_API_VERSION}
    if idempotency_key:
        opts["idempotency_key"] = idempotency_key
    if account:
        opts["stripe_account"] = account
    return opts


def decline_message(reason: str, fallback: str | None = None) -> str:
    """What to tell the client about a decline, by Stripe's decline code."""
    return _DECLINE_MESSAGES.get(reason, fallback or "The card was declined.")


def rate_limit_backoff(attempt: int) -> float:
    """Seconds to wait before retrying a 429: exponential, capped, with full jitter (so workers
    refused together do not come back together)."""
    ceiling = min(settings.STRIPE_RATE_LIMIT_BACKOFF_CAP, settings.STRIPE_RATE_LIMIT_BACKOFF_BASE * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)


def _call(fn, *args: Any, **kwargs: Any) -> Any:
    """Call the SDK and translate its errors into the app's.

    Writes (calls with an idempotency key) are paced under ``STRIPE_MAX_WRITES_PER_SECOND``
    (``processors.pacing``). A request Stripe refuses for its rate limit (429 ``rate_limit``) is
    sent again after a backoff with jitter, up to ``STRIPE_RATE_LIMIT_RETRIES`` times; the
    idempotency key makes a write sent again act once.
    """
    write = bool(kwargs.get("idempotency_key"))
    attempt = 0
    while True:
        if write:
            write_slot_wait()
        try:
            return _call_once(fn, *args, **kwargs)
        except stripe.RateLimitError as exc:
            if attempt >= settings.STRIPE_RATE_LIMIT_RETRIES:
                logger.warning("Stripe rate limit: giving up after %s retries", attempt)
                raise PaymentProviderUnavailable(
                    "The payment service is busy right now; the request will be tried again.",
                    code="payment_provider_rate_limited",
                ) from exc
            wait = rate_limit_backoff(attempt)
            attempt += 1
            logger.info("Stripe rate limit (429): retry %s in %.2fs", attempt, wait)
            time.sleep(wait)


def _call_once(fn, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except stripe.RateLimitError:
        raise
    except stripe.CardError as exc:
        err = exc.error
        reason = (err.decline_code if err else None) or (err.code if err else None) or "card_declined"
        raise PaymentError(
            decline_message(reason, exc.user_message),
            code="card_declined",
            details={
                "decline_code": reason,
                "payment_intent": _payment_intent_id(err),
                "charge": (getattr(err, "charge", None) or "") if err else "",
            },
        )
    except stripe.IdempotencyError as exc:
        logger.error("Stripe idempotency conflict: %s", exc.user_message)
        raise PaymentError(
            "This request conflicts with an earlier one and was not repeated.", code="idempotency_conflict"
        )
    except stripe.InvalidRequestError as exc:
        err = exc.error
        code = (err.code if err else None) or "invalid_request"
        logger.warning("Stripe refused a request: %s (%s)", exc.user_message, code)
        raise PaymentError(
            exc.user_message or "The payment service refused the request.",
            code=f"stripe_{code}",
            details={"param": err.param if err else None},
        )
    except stripe.APIConnectionError as exc:
        logger.warning("Stripe unavailable: %s", exc)
        raise PaymentProviderUnavailable()
    except stripe.AuthenticationError:
        logger.exception("Stripe rejected the API key")
        raise PaymentProviderUnavailable("Payments are not configured correctly. Nothing was charged.")
    except stripe.StripeError as exc:
        logger.exception("Stripe error")
        raise PaymentProviderUnavailable(exc.user_message or None)


def _payment_intent_id(err: Any) -> str | None:
    pi = getattr(err, "payment_intent", None) if err else None
    if isinstance(pi, Mapping):
        return pi.get("id")
    return getattr(pi, "id", None)


def ours(obj: StripeObject) -> bool:
    """Whether a PaymentIntent was made by this installation (``STRIPE_NAMESPACE`` in its metadata)."""
    return (obj.metadata or {}).get("holdfast_namespace") == settings.STRIPE_NAMESPACE


def money_from_stripe(amount: int, currency: str) -> Money:
    return Money(from_minor_units(amount, currency.upper()), currency.upper())


# --- dj-stripe mirror ---------------------------------------------------------------------


def sync(obj: StripeObject) -> Any:
    """Mirror a Stripe object into its dj-stripe model (by its ``object`` type) and return the row."""
    from djstripe import models as djstripe_models

    model = {
        "account": djstripe_models.Account,
        "payment_intent": djstripe_models.PaymentIntent,
        "charge": djstripe_models.Charge,
        "refund": djstripe_models.Refund,
        "transfer": djstripe_models.Transfer,
        "payout": djstripe_models.Payout,
        "dispute": djstripe_models.Dispute,
        "balance_transaction": djstripe_models.BalanceTransaction,
        "customer": djstripe_models.Customer,
        "webhook_endpoint": djstripe_models.WebhookEndpoint,
    }[obj["object"]]
    configure()
    kwargs: dict[str, Any] = {"api_key": settings.STRIPE_SECRET_KEY}
    if obj.get("object") == "payout" and getattr(obj, "stripe_account", None):
        kwargs["stripe_account"] = obj.stripe_account
    return model.sync_from_stripe_data(obj, **kwargs)


def event_mirror(*, payload: Mapping[str, Any], endpoint_uuid: str) -> Any:
    """Store a webhook event in dj-stripe and let dj-stripe's handlers mirror its object (they read
    it from Stripe). Runs in the webhook's Celery task, never in the request. Stripe's errors come
    back as the app's: an object Stripe no longer has is ``PaymentError(code="stripe_resource_missing")``."""
    from djstripe.models import Event, WebhookEndpoint
    from djstripe.settings import djstripe_settings

    configure()
    endpoint = (
        WebhookEndpoint.objects.select_related("djstripe_owner_account").filter(djstripe_uuid=endpoint_uuid).first()
    )
    owner = endpoint.djstripe_owner_account if endpoint else None
    api_key = (owner.default_api_key if owner else None) or djstripe_settings.get_default_api_key(
        bool(payload.get("livemode"))
    )
    return _call(Event.process, dict(payload), api_key=api_key)


def platform_account_sync() -> Any:
    """Create or refresh dj-stripe's ``APIKey`` and platform ``Account`` rows for the configured key."""
    from djstripe.models import APIKey

    def _sync() -> Any:
        api_key, _ = APIKey.objects.get_or_create_by_api_key(settings.STRIPE_SECRET_KEY)
        # Always re-read: the key may now belong to another account (a reset emulator, a new
        # Stripe account), and dj-stripe scopes its calls with the stored account's id.
        api_key.refresh_account()
        return api_key.djstripe_owner_account

    configure()
    return _call(_sync)


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
    """What Stripe has charged the platform in fees so far, in minor units (for reconciliation)."""
    transactions = _call(stripe.BalanceTransaction.list, currency=currency.lower(), limit=100, **_opts())
    return sum(txn.fee for txn in transactions.auto_paging_iter())


# --- Disputes --------------------------------------------------------------------------------


def dispute_for_charge(charge_id: str) -> StripeObject | None:
    disputes = _call(stripe.Dispute.list, charge=charge_id, limit=1, **_opts())
    return disputes.data[0] if disputes.data else None


def dispute_retrieve(dispute_id: str) -> StripeObject:
    return _call(stripe.Dispute.retrieve, dispute_id, **_opts())


def dispute_submit_evidence(*, dispute_id: str, evidence: Mapping[str, str], key: str) -> StripeObject:
    return _call(
        stripe.Dispute.modify,
        dispute_id,
        evidence=dict(evidence),
        submit=True,
        **_opts(idempotency_key=key),
    )


def file_create(*, name: str, content: bytes, content_type: str, key: str) -> StripeObject:
    """Upload a file to Stripe's Files API for a dispute's evidence (``purpose=dispute_evidence``)."""
    import io

    upload = io.BytesIO(content)
    upload.name = name
    return _call(stripe.File.create, purpose="dispute_evidence", file=upload, **_opts(idempotency_key=key))


def dispute_accept(*, dispute_id: str, key: str) -> StripeObject:
    return _call(stripe.Dispute.close, dispute_id, **_opts(idempotency_key=key))


# --- Webhooks --------------------------------------------------------------------------------


def webhook_endpoint_create(*, url: str, connect: bool, description: str, metadata: Mapping[str, str]) -> StripeObject:
    return _call(
        stripe.WebhookEndpoint.create,
        url=url,
        connect=connect,
        enabled_events=["*"],
        description=description,
        metadata=dict(metadata),
        api_version=settings.STRIPE_API_VERSION,
        **_opts(idempotency_key=idempotency_key("webhook-endpoint", url)),
    )


def webhook_endpoint_retrieve(endpoint_id: str) -> StripeObject | None:
    try:
        return _call(stripe.WebhookEndpoint.retrieve, endpoint_id, **_opts())
    except PaymentError as exc:
        if exc.code == "stripe_resource_missing":
            return None
        raise


def event_verify(*, payload: bytes, signature: str, secret: str, tolerance: int = 300) -> None:
    """Raise ``SignatureVerificationError`` unless ``signature`` signs ``payload`` with ``secret``."""
    stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, secret, tolerance)
