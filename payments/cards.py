"""A client's saved cards: save one (a SetupIntent), list, remove, choose the default, and use one
to pay in one click.

The cards live with the client's customer at the processor (``processors.ProcessorCustomer``, made
the first time it is needed); Holdfast keeps no copy of them, so the list is always the processor's.
Every card id a client sends is checked against their own customer: another client's card is
``card_not_found`` (a 404), as if it did not exist, however the id was learnt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import User
from core.errors import NotFound
from processors import registry
from processors.interface import Card, PaymentError, PaymentProcessor, PaymentStatus, Setup
from processors.keys import idempotency_key
from processors.services import customer_reference_find, customer_reference_for


def card_not_found() -> NotFound:
    return NotFound("No such saved card.", code="card_not_found")


@dataclass(frozen=True)
class SavedCard:
    reference: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    expired: bool
    is_default: bool

    @property
    def label(self) -> str:
        return f"{self.brand.title()} •••• {self.last4}"

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year}"


def _processor(name: str | None = None) -> PaymentProcessor:
    return registry.processor(name)


def _saved(card: Card, *, default: str, today=None) -> SavedCard:
    today = today or timezone.localdate()
    return SavedCard(
        reference=card.reference,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        expired=card.expired(year=today.year, month=today.month),
        is_default=card.reference == default,
    )


def cards_for_client(*, user: User, today=None) -> list[SavedCard]:
    """The client's saved cards, the default first, expired ones flagged. No processor customer yet:
    no cards (and no call)."""
    customer = customer_reference_find(user=user)
    if not customer:
        return []
    processor = _processor()
    try:
        default = processor.default_card(customer)
    except PaymentError as exc:
        if exc.code == "stripe_resource_missing":
            return []  # the customer was deleted at the processor: no cards (a new one is made when needed)
        raise
    cards = [_saved(card, default=default, today=today) for card in processor.cards_list(customer)]
    return sorted(cards, key=lambda c: (not c.is_default, c.expired))


def card_for_client(*, user: User, reference: str) -> Card:
    """One of the client's own saved cards, or ``card_not_found``."""
    customer = customer_reference_find(user=user)
    if not customer or not reference:
        raise card_not_found()
    try:
        card = _processor().card_retrieve(reference)
    except PaymentError as exc:
        if exc.code in ("stripe_resource_missing", "stripe_invalid_request"):
            raise card_not_found() from exc
        raise
    if card.customer_reference != customer:
        raise card_not_found()
    return card


def card_prepare_for_payment(
    *,
    user: User,
    processor: PaymentProcessor,
    payment_reference: str,
    payment_customer: str,
    method: str,
    save: bool,
) -> None:
    """Before a payment is confirmed with ``method``: a saved card must be the payer's own, and a
    payment made with a saved card, or saving a new one, must be for the payer's customer."""
    try:
        card = processor.card_retrieve(method)  # type: ignore[attr-defined]
    except PaymentError as exc:
        if exc.code in ("stripe_resource_missing", "stripe_invalid_request"):
            return  # no such card at all: the confirm call says so, as for any unknown method
        raise
    if card.customer_reference:
        if card.customer_reference != customer_reference_find(user=user, processor=processor.name):
            raise card_not_found()
    elif not save:
        return  # a new card, used once
    customer = customer_reference_for(user=user, processor=processor.name)
    if payment_customer != customer:
        processor.payment_attach_customer(  # type: ignore[attr-defined]
            payment_reference, customer=customer, key=idempotency_key("payment-customer", payment_reference, customer)
        )


def card_save_on_payment(*, user: User, processor: PaymentProcessor, payment_reference: str) -> None:
    """The card a browser or app is about to pay ``payment_reference`` with will be kept for the
    payer (Stripe.js's Payment Element confirms the payment itself, so the server says it first)."""
    customer = customer_reference_for(user=user, processor=processor.name)
    processor.payment_attach_customer(  # type: ignore[attr-defined]
        payment_reference,
        customer=customer,
        key=idempotency_key("payment-save-card", payment_reference, customer),
        save_method=True,
    )


@dataclass(frozen=True)
class CardSetup:
    """What a browser or app needs to save a card: the SetupIntent's client secret and the key."""

    reference: str
    client_secret: str
    customer: str
    publishable_key: str


def card_setup_start(*, user: User) -> CardSetup:
    """Begin saving a card for the client (their processor customer is made if it is the first time).
    Each call is a new setup; one left unconfirmed saves nothing."""
    customer = customer_reference_for(user=user)
    processor = _processor()
    try:
        setup = processor.setup_create(  # type: ignore[attr-defined]
            customer=customer,
            key=idempotency_key("card-setup", user.pk, uuid.uuid4().hex),
            metadata={"holdfast_user_id": str(user.pk)},
        )
    except PaymentError as exc:
        if exc.code != "stripe_resource_missing" or exc.details.get("param") != "customer":
            raise
        customer = customer_reference_for(user=user, replacing=customer)  # deleted at the processor
        setup = processor.setup_create(  # type: ignore[attr-defined]
            customer=customer,
            key=idempotency_key("card-setup", user.pk, uuid.uuid4().hex),
            metadata={"holdfast_user_id": str(user.pk)},
        )
    return CardSetup(
        reference=setup.reference,
        client_secret=setup.client_secret,
        customer=customer,
        publishable_key=processor.client_config().get("publishable_key", ""),
    )


def _own_setup(*, user: User, reference: str) -> Setup:
    customer = customer_reference_find(user=user)
    try:
        setup = _processor().setup_retrieve(reference) if customer and reference else None  # type: ignore[attr-defined]
    except PaymentError as exc:
        if exc.code in ("stripe_resource_missing", "stripe_invalid_request"):
            setup = None
        else:
            raise
    if setup is None or setup.customer_reference != customer:
        raise NotFound("No such card setup.", code="card_setup_not_found")
    return setup


@dataclass(frozen=True)
class CardSetupResult:
    status: str  # succeeded, requires_action
    redirect_url: str = ""
    card: str = ""


def card_setup_confirm(*, user: User, setup_reference: str, method: str, return_url: str) -> CardSetupResult:
    """Save the card ``method`` through the client's setup (emulator test cards, the mobile API).
    A card the bank wants authenticated gives ``requires_action`` and the page to do it on; a
    declined card is ``card_declined`` and nothing is saved. The first card saved becomes the default."""
    setup = _own_setup(user=user, reference=setup_reference)
    if setup.status != PaymentStatus.SUCCEEDED:
        setup = _processor().setup_confirm(  # type: ignore[attr-defined]
            setup.reference,
            method=method,
            key=idempotency_key("card-setup-confirm", setup.reference, method),
            return_url=return_url,
        )
    return card_setup_outcome(user=user, setup=setup)


def card_setup_finish(*, user: User, setup_reference: str) -> CardSetupResult:
    """Where the browser lands after authenticating (or after Stripe.js saved the card): read the
    setup back from the processor and report it."""
    return card_setup_outcome(user=user, setup=_own_setup(user=user, reference=setup_reference))


def card_setup_outcome(*, user: User, setup: Setup) -> CardSetupResult:
    if setup.status == PaymentStatus.REQUIRES_ACTION:
        return CardSetupResult(status=setup.status, redirect_url=setup.action_url)
    if setup.status != PaymentStatus.SUCCEEDED:
        message = setup.failure.message if setup.failure else "The card was not saved."
        raise PaymentError(message, code="card_not_saved")
    processor = _processor()
    if not processor.default_card(setup.customer_reference):  # type: ignore[attr-defined]
        processor.default_card_set(  # type: ignore[attr-defined]
            setup.customer_reference,
            card=setup.method_reference,
            key=idempotency_key("card-default", setup.customer_reference, setup.method_reference),
        )
    return CardSetupResult(status=setup.status, card=setup.method_reference)


def card_remove(*, user: User, reference: str) -> None:
    """Remove one of the client's saved cards: it can never be used again (the processor refuses
    it). The default moves to another saved card, if there is one."""
    card = card_for_client(user=user, reference=reference)
    processor = _processor()
    customer = card.customer_reference
    was_default = processor.default_card(customer) == card.reference  # type: ignore[attr-defined]
    processor.card_detach(card.reference, key=idempotency_key("card-detach", card.reference))  # type: ignore[attr-defined]
    if was_default:
        others = processor.cards_list(customer)  # type: ignore[attr-defined]
        processor.default_card_set(  # type: ignore[attr-defined]
            customer,
            card=others[0].reference if others else "",
            key=idempotency_key("card-default", customer, "after", card.reference),
        )


def card_default_set(*, user: User, reference: str) -> None:
    """Make one of the client's saved cards the one offered first."""
    card = card_for_client(user=user, reference=reference)
    _processor().default_card_set(  # type: ignore[attr-defined]
        card.customer_reference,
        card=card.reference,
        key=idempotency_key("card-default", card.customer_reference, card.reference, uuid.uuid4().hex),
    )


@dataclass(frozen=True)
class PaymentSheet:
    """What Stripe's mobile PaymentSheet needs."""

    customer: str
    ephemeral_key: str
    publishable_key: str
    payment_intent_client_secret: str = ""
    setup_intent_client_secret: str = ""


def payment_sheet_for(
    *, user: User, payment_client_secret: str = "", payment_customer: str = "", payment_reference: str = ""
) -> PaymentSheet:
    """The customer, a fresh ephemeral key and the publishable key, with the client secret of the
    payment to make (an escrow's or a top-up's, made for this customer) or, with none, of a new
    setup to save a card."""
    customer = customer_reference_for(user=user)
    processor = _processor()
    setup_secret = ""
    if payment_reference and payment_customer != customer:
        processor.payment_attach_customer(  # type: ignore[attr-defined]
            payment_reference, customer=customer, key=idempotency_key("payment-customer", payment_reference, customer)
        )
    if not payment_client_secret:
        setup_secret = card_setup_start(user=user).client_secret
    return PaymentSheet(
        customer=customer,
        ephemeral_key=processor.mobile_key_create(customer),  # type: ignore[attr-defined]
        publishable_key=processor.client_config().get("publishable_key", ""),
        payment_intent_client_secret=payment_client_secret,
        setup_intent_client_secret=setup_secret,
    )
