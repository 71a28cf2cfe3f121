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
from datetime import datetime
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
    customer_reference: str = ""  # the processor's customer it is for (saved cards), if any
    method_reference: str = ""  # the payment method it was (last) confirmed with


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


@dataclass(frozen=True)
class Card:
    """A card saved with the processor for a customer (Stripe: a PaymentMethod of type card)."""

    processor: str
    reference: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    customer_reference: str = ""  # empty once removed (detached), or for a card never saved

    def expired(self, *, year: int, month: int) -> bool:
        """Whether the card has expired by the given month (a card works through its expiry month)."""
        return (self.exp_year, self.exp_month) < (year, month)


@dataclass(frozen=True)
class Setup:
    """Saving a card for later without charging it (Stripe: a SetupIntent)."""

    processor: str
    reference: str
    status: str  # PaymentStatus words: requires_payment_method, requires_action, succeeded, canceled
    customer_reference: str
    client_secret: str = ""
    method_reference: str = ""  # the card, once set up
    action_url: str = ""  # where the card holder authenticates, with REQUIRES_ACTION
    failure: PaymentFailure | None = None


class EventKind:
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    CHARGE_REFUNDS_CHANGED = "charge.refunds_changed"  # refunds of a charge were made or updated
    ACCOUNT_UPDATED = "account.updated"  # a connected account (onboarding, bank, capabilities) changed
    BANK_PAYOUT_CHANGED = "bank_payout.changed"  # a payout to a bank was paid, failed or cancelled
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


class BankPayoutStatus:
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class BankAccountSummary:
    """What may be shown of a bank account: never its full number."""

    bank_name: str
    last4: str
    currency: str
    country: str = ""
    reference: str = ""


@dataclass(frozen=True)
class ConnectedAccount:
    """A payee's account at the processor (Stripe: a Connect Express account)."""

    processor: str
    reference: str
    country: str
    default_currency: str
    details_submitted: bool
    charges_enabled: bool
    payouts_enabled: bool
    requirements_due: tuple[str, ...] = ()
    disabled_reason: str = ""
    payout_schedule: str = ""  # "manual" when Holdfast decides when money moves
    bank_accounts: tuple[BankAccountSummary, ...] = ()
    email: str = ""


@dataclass(frozen=True)
class Transfer:
    """Money moved from the platform's balance to a connected account."""

    processor: str
    reference: str
    amount: Money
    destination: str
    amount_reversed: Money
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TransferReversal:
    processor: str
    reference: str
    transfer_reference: str
    amount: Money


@dataclass(frozen=True)
class BankPayout:
    """A payout from a connected account to its bank (Stripe: a Payout on the connected account)."""

    processor: str
    reference: str
    account_reference: str
    amount: Money
    status: str  # BankPayoutStatus
    arrival_date: int | None = None  # a Unix timestamp
    failure_code: str = ""
    failure_message: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlatformBalance:
    """The platform's money at the processor, per currency: ``available`` can be transferred now."""

    available: Mapping[str, Money]
    pending: Mapping[str, Money]


class PayoutProcessor(Protocol):
    """The calls payouts make: connected accounts and their onboarding, transfers, bank payouts."""

    name: str
    display_name: str

    def connected_account_create(self, *, user_id: int, email: str, country: str) -> ConnectedAccount:
        """An account whose payouts Holdfast starts (manual payout schedule). Idempotent per user."""
        ...

    def connected_account_retrieve(self, reference: str) -> ConnectedAccount: ...

    def onboarding_link_create(self, *, reference: str, refresh_url: str, return_url: str) -> str:
        """A single-use, short-lived address where the payee gives the processor what it needs."""
        ...

    def dashboard_link_create(self, *, reference: str) -> str:
        """A single-use address of the payee's own dashboard (bank details, payouts)."""
        ...

    def transfer_create(
        self, *, amount: Money, destination: str, key: str, group: str, metadata: Mapping[str, str]
    ) -> Transfer:
        """Raises ``PaymentError(code="platform_balance_insufficient")`` when the platform's
        available funds cannot cover it yet (card funds not yet settled): wait and try again."""
        ...

    def transfer_reverse(self, *, reference: str, amount: Money, key: str) -> TransferReversal: ...

    def bank_payout_create(
        self, *, account_reference: str, amount: Money, key: str, metadata: Mapping[str, str]
    ) -> BankPayout: ...

    def bank_payout_retrieve(self, *, account_reference: str, reference: str) -> BankPayout: ...

    def bank_payout_cancel(self, *, account_reference: str, reference: str, key: str) -> BankPayout: ...

    def transfer_retrieve(self, reference: str) -> Transfer: ...

    def platform_balance(self) -> PlatformBalance: ...

    def fees_total(self, *, currency: str) -> Money:
        """What the processor has charged the platform in processing fees so far (for reconciliation):
        the fees the ledger does not book (a chargeback's fee is booked with the chargeback)."""
        ...


class PaymentProcessor(Protocol):
    """The calls escrow and chargebacks make. Payouts use ``PayoutProcessor`` (above)."""

    name: str  # stored with each ProcessorTransaction
    display_name: str  # what staff read ("Refunded at Stripe …")

    def payment_create(
        self,
        *,
        amount: Money,
        key: str,
        group: str,
        metadata: Mapping[str, str],
        description: str = "",
        customer: str = "",  # a customer's reference lets the payment use (and save) their cards
    ) -> Payment: ...

    def payment_retrieve(self, reference: str) -> Payment: ...

    def payment_confirm(
        self, reference: str, *, method: str, key: str, return_url: str, save_method: bool = False
    ) -> Payment:
        """``save_method`` keeps the card for the payment's customer once it succeeds. Raises
        ``PaymentError(code="card_declined", details={"decline_code", "charge"})`` on a decline."""
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

    def chargeback_references(self, *, since: datetime) -> list[str]:
        """The references of the chargebacks opened since ``since`` (to find those whose events never came)."""
        ...

    def chargeback_file_upload(self, *, name: str, content: bytes, content_type: str, key: str) -> str:
        """Upload a file to be given as evidence; returns the processor's file reference."""
        ...

    def chargeback_evidence_submit(
        self, reference: str, *, text: Mapping[str, str], files: Mapping[str, str], key: str
    ) -> Chargeback: ...

    def chargeback_accept(self, reference: str, *, key: str) -> Chargeback: ...


class SavedCardsProcessor(Protocol):
    """Customers and their saved cards: what clients need to pay in one click (and mobile apps'
    payment sheets). A processor offering saved cards implements these besides ``PaymentProcessor``."""

    def customer_create(self, *, key: str, email: str, metadata: Mapping[str, str]) -> str:
        """A customer at the processor; returns its reference. The same ``key`` makes it once."""
        ...

    def payment_attach_customer(self, reference: str, *, customer: str, key: str, save_method: bool = False) -> Payment:
        """Let an open payment use the customer's saved cards; ``save_method`` keeps the card it is
        then paid with (for a browser or app confirming the payment itself)."""
        ...

    def setup_create(self, *, customer: str, key: str, metadata: Mapping[str, str]) -> Setup: ...

    def setup_retrieve(self, reference: str) -> Setup: ...

    def setup_confirm(self, reference: str, *, method: str, key: str, return_url: str) -> Setup:
        """Raises ``PaymentError(code="card_declined")`` when the bank refuses the card."""
        ...

    def cards_list(self, customer: str) -> list[Card]: ...

    def card_retrieve(self, reference: str) -> Card:
        """Any card the processor knows; raises ``PaymentError(code="stripe_resource_missing")`` if none."""
        ...

    def card_detach(self, reference: str, *, key: str) -> Card: ...

    def default_card(self, customer: str) -> str:
        """The reference of the customer's default card, or ``""``."""
        ...

    def default_card_set(self, customer: str, *, card: str, key: str) -> None:
        """Make ``card`` the customer's default (``""`` clears it)."""
        ...

    def mobile_key_create(self, customer: str) -> str:
        """A short-lived key a mobile SDK uses to act for the customer (Stripe: an ephemeral key's secret)."""
        ...
