"""Writes of the processor record."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction

from accounts.models import User
from processors import registry
from processors.keys import idempotency_key
from processors.models import ProcessorCustomer, ProcessorTransaction


def transaction_record(
    *,
    subject: models.Model,
    processor: str,
    kind: str,
    reference: str,
    idempotency_key: str,
    charge_reference: str = "",
    status: str = "",
    amount: Decimal | None = None,
    currency: str = "",
    failure_code: str = "",
    failure_message: str = "",
    event_id: str = "",
) -> tuple[ProcessorTransaction, bool]:
    """Record that something happened at a processor, once: ``(row, created)``. A second call with
    the same ``idempotency_key`` returns the first row and ``created=False``, whatever else it says."""
    existing = ProcessorTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    row = ProcessorTransaction(
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=str(subject.pk),
        processor=processor,
        kind=kind,
        reference=reference,
        idempotency_key=idempotency_key,
        charge_reference=charge_reference,
        status=status,
        amount=amount,
        currency=currency,
        failure_code=failure_code[:64],
        failure_message=failure_message[:500],
        event_id=event_id,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # recorded concurrently
        return ProcessorTransaction.objects.get(idempotency_key=idempotency_key), False
    return row, True


def customer_reference_for(*, user: User, processor: str | None = None, replacing: str = "") -> str:
    """The user's customer at the processor, made at the processor the first time it is asked for.

    Safe to call concurrently: the processor is asked with one idempotency key per user (so two
    first calls make one customer) and the row is unique per user and processor. The processor is
    called with no row locked. ``replacing`` names a customer the processor no longer has (deleted
    in its dashboard): the row is dropped and a new customer made in its place.
    """
    name = processor or registry.processor().name
    if replacing:
        ProcessorCustomer.objects.filter(user=user, processor=name, reference=replacing).delete()
    found = ProcessorCustomer.objects.filter(user=user, processor=name).values_list("reference", flat=True).first()
    if found:
        return found
    reference = registry.processor(name).customer_create(  # type: ignore[attr-defined]
        key=idempotency_key("customer", user.pk, *([replacing] if replacing else [])),
        email=user.email,
        metadata={"holdfast_user_id": str(user.pk)},
    )
    try:
        with transaction.atomic():
            ProcessorCustomer.objects.create(user=user, processor=name, reference=reference)
    except IntegrityError:  # made concurrently
        pass
    return ProcessorCustomer.objects.get(user=user, processor=name).reference


def customer_reference_find(*, user: User, processor: str | None = None) -> str:
    """The user's customer at the processor if one was made, else ``""`` (no processor call)."""
    name = processor or registry.processor().name
    return ProcessorCustomer.objects.filter(user=user, processor=name).values_list("reference", flat=True).first() or ""
