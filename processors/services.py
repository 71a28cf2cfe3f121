"""Writes of the processor record."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction

from processors.models import ProcessorTransaction


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
