"""The Stripe SDK boundary: this package is the only place in Holdfast that imports ``stripe``.

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

This module holds the configuration, the error translation and rate-limit retry (``_call``) and the
money helpers; the calls themselves are in one module per stage, re-exported here:

==============  ==================================================================================
``mirror``      dj-stripe sync, the webhook event mirror, the platform account, webhook endpoints
``connect``     Connect accounts and links, transfers, payouts, balances and platform fees
``payments``    PaymentIntents, charges, refunds, customers, SetupIntents, saved payment methods
``disputes``    disputes and evidence files
==============  ==================================================================================

Callers use the package: ``from processors.stripe import gateway; gateway.refund_create(...)``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from typing import Any

import stripe
from django.conf import settings
from moneyed import Money

from core.money import from_minor_units
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
                    "The payment service is busy right now; please try again in a moment.",
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


# The calls, one module per stage (imported last: they use ``_call`` and ``_opts`` above).
from processors.stripe.gateway.connect import (  # noqa: E402
    account_link_create,
    balance_retrieve,
    connected_account_create,
    connected_account_retrieve,
    login_link_create,
    payout_cancel,
    payout_create,
    payout_retrieve,
    payout_schedule_manual,
    platform_fees_total,
    transfer_create,
    transfer_retrieve,
    transfer_reverse,
)
from processors.stripe.gateway.disputes import (  # noqa: E402
    dispute_accept,
    dispute_for_charge,
    dispute_retrieve,
    dispute_submit_evidence,
    disputes_opened_since,
    file_create,
)
from processors.stripe.gateway.mirror import (  # noqa: E402
    event_mirror,
    event_verify,
    platform_account_sync,
    sync,
    webhook_endpoint_create,
    webhook_endpoint_retrieve,
)
from processors.stripe.gateway.payments import (  # noqa: E402
    charge_retrieve,
    customer_create,
    customer_default_payment_method_set,
    customer_payment_methods,
    customer_retrieve,
    ephemeral_key_create,
    payment_intent_cancel,
    payment_intent_confirm,
    payment_intent_create,
    payment_intent_retrieve,
    payment_intent_update,
    payment_method_detach,
    payment_method_retrieve,
    refund_create,
    refunds_for_charge,
    setup_intent_confirm,
    setup_intent_create,
    setup_intent_retrieve,
)

__all__ += [  # the calls, re-exported for ``gateway.<call>``
    "account_link_create",
    "balance_retrieve",
    "charge_retrieve",
    "connected_account_create",
    "connected_account_retrieve",
    "customer_create",
    "customer_default_payment_method_set",
    "customer_payment_methods",
    "customer_retrieve",
    "dispute_accept",
    "dispute_for_charge",
    "dispute_retrieve",
    "dispute_submit_evidence",
    "disputes_opened_since",
    "ephemeral_key_create",
    "event_mirror",
    "event_verify",
    "file_create",
    "login_link_create",
    "payment_intent_cancel",
    "payment_intent_confirm",
    "payment_intent_create",
    "payment_intent_retrieve",
    "payment_intent_update",
    "payment_method_detach",
    "payment_method_retrieve",
    "payout_cancel",
    "payout_create",
    "payout_retrieve",
    "payout_schedule_manual",
    "platform_account_sync",
    "platform_fees_total",
    "refund_create",
    "refunds_for_charge",
    "setup_intent_confirm",
    "setup_intent_create",
    "setup_intent_retrieve",
    "sync",
    "transfer_create",
    "transfer_retrieve",
    "transfer_reverse",
    "webhook_endpoint_create",
    "webhook_endpoint_retrieve",
]
