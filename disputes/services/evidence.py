"""Evidence files: images and PDFs, checked by size, name and content, kept through Django's
storage API (``STORAGES["default"]``: local files in development, any django-storages backend in
production) under a name of our own, and served only to the parties and Support."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.models import User
from core.errors import ValidationError
from disputes.events import DisputeEvidenceAdded
from disputes.models import Dispute, DisputeEvent, Evidence
from disputes.services.common import (
    clean_text,
    is_party,
    lock,
    publish,
    record,
    require_active,
    require_party_or_support,
)

# Extension -> the content type its bytes must show (the first bytes are checked, not the name).
TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
NAME_MAX_LENGTH = 120


@dataclass(frozen=True)
class CheckedFile:
    name: str
    extension: str
    content_type: str
    content: bytes


def sniff(content: bytes) -> str | None:
    """The type the file's first bytes show, or ``None`` for anything that is not an image or a PDF."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def file_check(upload: UploadedFile | None, *, field: str = "file") -> CheckedFile:
    """An uploaded evidence file, or a clear error: a plain name (no path), an image or PDF extension
    and content of that type, not empty, at most ``DISPUTE_EVIDENCE_MAX_BYTES``."""
    if upload is None:
        raise ValidationError("Choose a file.", code="file_required", details={"field": field})
    name = upload.name or ""
    if not name or name != os.path.basename(name) or "\\" in name or ".." in name or "\x00" in name:
        raise ValidationError(
            "The file's name must be a plain name, without folders or '..'.",
            code="file_name_invalid",
            details={"field": field},
        )
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            f"The file's name can be at most {NAME_MAX_LENGTH} characters.",
            code="file_name_invalid",
            details={"field": field},
        )
    limit = settings.DISPUTE_EVIDENCE_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            f"The file is larger than the {limit // (1024 * 1024)} MB allowed.",
            code="file_too_large",
            details={"field": field, "max_bytes": limit},
        )
    extension = os.path.splitext(name)[1].lower()
    upload.seek(0)
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ValidationError(
            f"The file is larger than the {limit // (1024 * 1024)} MB allowed.",
            code="file_too_large",
            details={"field": field, "max_bytes": limit},
        )
    if not content:
        raise ValidationError("The file is empty.", code="file_empty", details={"field": field})
    content_type = sniff(content)
    if extension not in TYPES or content_type != TYPES[extension]:
        raise ValidationError(
            "Evidence must be an image (PNG, JPEG, GIF, WebP) or a PDF.",
            code="file_type_invalid",
            details={"field": field, "allowed": sorted(TYPES)},
        )
    return CheckedFile(name=name, extension=extension, content_type=content_type, content=content)


def dispute_evidence_add(
    *, dispute: Dispute, actor: User, upload: UploadedFile | None, description: str = ""
) -> Evidence:
    """Add a file to an active dispute (a party or Support). Checked before anything is stored."""
    from django.core.files.base import ContentFile

    from disputes.services.disputes import _responded

    require_party_or_support(dispute, actor)
    checked = file_check(upload)
    description = clean_text(description, field="description", label="description", max_length=300, required=False)
    with transaction.atomic():
        dispute = lock(dispute.pk)
        require_active(dispute)
        evidence = Evidence(
            dispute=dispute,
            uploaded_by=actor,
            token=secrets.token_hex(16),
            extension=checked.extension,
            original_name=checked.name,
            content_type=checked.content_type,
            size=len(checked.content),
            description=description,
        )
        evidence.file.save(checked.name, ContentFile(checked.content), save=False)
        try:
            evidence.save()
            record(dispute, DisputeEvent.Kind.EVIDENCE, actor=actor, note=checked.name)
            if is_party(dispute, actor):
                _responded(dispute, actor)
        except Exception:
            evidence.file.delete(save=False)  # nothing recorded: leave no file behind
            raise
        publish(DisputeEvidenceAdded, dispute, evidence_id=evidence.pk, uploaded_by_id=actor.pk)
    return evidence
