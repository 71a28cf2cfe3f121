"""Reads of the processor record."""

from __future__ import annotations

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
