"""Reads of the processor record."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from processors.models import ProcessorTransaction


def transactions_for(*, subject: models.Model, kinds: list[str] | None = None) -> QuerySet[ProcessorTransaction]:
    """What processors did for ``subject``, oldest first."""
    rows = ProcessorTransaction.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject), subject_id=str(subject.pk)
    )
    if kinds is not None:
        rows = rows.filter(kind__in=kinds)
    return rows.order_by("created_at", "id")


@dataclass(frozen=True)
class PaymentCard:
    """The card a charge was made with, as the processor's mirror has it."""

    brand: str
    last4: str


def payment_cards(*, charge_references: Iterable[str]) -> dict[str, PaymentCard]:
    """The card of each charge the processor's mirror knows (Stripe: dj-stripe's ``Charge`` rows).

    For payment history and receipts. A charge the mirror has not seen yet is left out: the caller
    shows no card rather than a guess. One query for any number of charges.
    """
    wanted = sorted({ref for ref in charge_references if ref})
    if not wanted:
        return {}
    from djstripe.models import Charge

    cards: dict[str, PaymentCard] = {}
    for charge_id, data in Charge.objects.filter(id__in=wanted).values_list("id", "stripe_data"):
        card = ((data or {}).get("payment_method_details") or {}).get("card") or {}
        if card.get("last4"):
            cards[charge_id] = PaymentCard(brand=str(card.get("brand") or ""), last4=str(card["last4"]))
    return cards


def transactions_about(*, model: type[models.Model], kinds: list[str]) -> QuerySet[ProcessorTransaction]:
    """What processors did for any object of ``model`` (e.g. every returned escrow payment)."""
    return ProcessorTransaction.objects.filter(subject_type=ContentType.objects.get_for_model(model), kind__in=kinds)
