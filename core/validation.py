"""Model validation as application errors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model

from core.errors import ValidationError


def model_full_clean(obj: Model, *, code: str, exclude: list[str] | None = None) -> None:
    """``obj.full_clean()``; Django's errors become one ``ValidationError`` with ``code``, every
    message as a sentence, and the messages per field in ``details["fields"]``."""
    try:
        obj.full_clean(exclude=exclude)
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(exc.messages), code=code, details={"fields": exc.message_dict})
