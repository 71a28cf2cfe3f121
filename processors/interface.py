"""What Holdfast needs from a payment processor, in Holdfast's own words.

Escrow, payouts and disputes talk to a ``PaymentProcessor``; each processor (Stripe today, PayPal
on the roadmap) is an adapter in its own subpackage that translates these calls and results to
and from its SDK. Nothing above this layer sees an SDK object: results are the frozen dataclasses
below, errors are ``PaymentError``s with stable codes, amounts are ``Money`` (minor units exist
only inside an adapter). Every write takes an idempotency key made by ``processors.keys`` from our
own row ids, so a retried job or a double click acts once.

Modelled on pretix's ``BasePaymentProvider`` (one provider object per processor, the domain
calling it) and saleor's ``payment/interface.py`` (neutral result objects with the processor's
reference, ``psp_reference``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from moneyed import Money

from core.errors import ApplicationError


class PaymentError(ApplicationError):
    """The processor refused or could not do what we asked."""

    status_code = 402
    default_code = "payment_failed"
    default_message = "The payment could not be completed."


class PaymentProviderUnavailable(PaymentError):
    """No answer (network, rate limit, an outage): the outcome is unknown, ask again later."""

    status_code = 503
    default_code = "payment_provider_unavailable"
    default_message = "The payment service cannot be reached right now. Nothing was charged; please try again."


class PaymentStatus:
    """A payment's status, the same words for every processor."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"  # waiting for a card (again, after a decline)
    REQUIRES_ACTION = "requires_action"  # the bank wants the customer (3-D Secure)
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class RefundStatus:
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class PaymentFailure:
    """Why the last attempt failed: a stable code, a sentence for the payer, the failed charge."""

    code: str
    message: str
    charge_reference: str = ""


@dataclass(frozen=True)
class Payment:
    """A payment as the processor has it (Stripe: a PaymentIntent)."""

    processor: str
    reference: str
    status: str
    amount: Money
    amount_received: Money
    charge_reference: str = ""  # the charge the money came through; refunds are made against it
    client_secret: str = ""  # for the browser / mobile SDK
    action_url: str = ""  # where the payer authenticates, with REQUIRES_ACTION
    failure: PaymentFailure | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    ours: bool = True  # made by this installation (not another sharing the processor account)


@dataclass(frozen=True)
class Refund:
    processor: str
    reference: str
    status: str
    amount: Money
    charge_reference: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    failure_reason: str = ""


@dataclass(frozen=True)
class ProcessorEvent:
    """A webhook event in neutral words: ``kind`` is one of ``EventKind``; ``reference`` names the
    object it is about (a payment, or for refund events the charge). Handlers re-read that object
    from the processor: the payload is not trusted."""

    processor: str
    event_id: str
    kind: str
    reference: str


@dataclass(frozen=True)
class Chargeback:
    """A card dispute raised through the client's bank (Stripe: a Dispute on the charge).

    ``withdrawn`` is what the processor took from the platform's balance for it (amount and fee),
    ``reinstated`` what it gave back (the amount, when won)."""

    processor: str
    reference: str
    charge_reference: str
    status: str  # needs_response, under_review, won, lost, warning_* (Stripe's words, kept as they are)
    amount: Money
    fee: Money
    withdrawn: bool
    reinstated: bool
    reason: str = ""
    payment_reference: str = ""  # the payment the charge belongs to
    evidence_due_by: int | None = None  # unix time
    evidence_submissions: int = 0


class EventKind:
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    CHARGE_REFUNDS_CHANGED = "charge.refunds_changed"  # refunds of a charge were made or updated
    # A card dispute (chargeback) of a charge: ``reference`` is the chargeback's id.
    CHARGEBACK_CREATED = "chargeback.created"
    CHARGEBACK_UPDATED = "chargeback.updated"
    CHARGEBACK_CLOSED = "chargeback.closed"
    CHARGEBACK_FUNDS_WITHDRAWN = "chargeback.funds_withdrawn"
    CHARGEBACK_FUNDS_REINSTATED = "chargeback.funds_reinstated"
    CHARGEBACK_KINDS = (
        CHARGEBACK_CREATED,
        CHARGEBACK_UPDATED,
        CHARGEBACK_CLOSED,
        CHARGEBACK_FUNDS_WITHDRAWN,
        CHARGEBACK_FUNDS_REINSTATED,
    )


class PaymentProcessor(Protocol):
    """The calls escrow and chargebacks make. Payout calls join this when that capability is built
    (its Stripe side already exists in ``processors.stripe.gateway``)."""

    name: str  # stored with each ProcessorTransaction
    display_name: str  # what staff read ("Refunded at Stripe …")

    def payment_create(
        self, *, amount: Money, key: str, group: str, metadata: Mapping[str, str], description: str = ""
    ) -> Payment: ...

    def payment_retrieve(self, reference: str) -> Payment: ...

    def payment_confirm(self, reference: str, *, method: str, key: str, return_url: str) -> Payment:
        """Raises ``PaymentError(code="card_declined", details={"decline_code", "charge"})`` on a decline."""
        ...

    def payment_cancel(self, reference: str, *, key: str) -> Payment: ...

    def refund_create(
        self, *, payment_reference: str, amount: Money, key: str, metadata: Mapping[str, str], reason: str = ""
    ) -> Refund: ...

    def refunds_for_charge(self, charge_reference: str) -> list[Refund]: ...

    def client_config(self) -> Mapping[str, str]:
        """What a browser or app needs besides a client secret (Stripe: the publishable key)."""
        ...

    # Chargebacks (card disputes from the bank): read back, answer with evidence, or accept.
    def chargeback_retrieve(self, reference: str) -> Chargeback: ...

    def chargeback_file_upload(self, *, name: str, content: bytes, content_type: str, key: str) -> str:
        """Upload a file to be given as evidence; returns the processor's file reference."""
        ...

    def chargeback_evidence_submit(
        self, reference: str, *, text: Mapping[str, str], files: Mapping[str, str], key: str
    ) -> Chargeback: ...

    def chargeback_accept(self, reference: str, *, key: str) -> Chargeback: ...
