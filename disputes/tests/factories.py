"""Disputes and staff in the states tests need, reached through the real services."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import FINANCE, SUPPORT, staff_groups_sync
from accounts.tests.factories import UserFactory
from disputes import services
from disputes.models import Dispute
from payments.models import Escrow

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def staff(group: str = SUPPORT, **kwargs):
    staff_groups_sync()
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=group))
    return user


def support(**kwargs):
    return staff(SUPPORT, **kwargs)


def finance(**kwargs):
    return staff(FINANCE, **kwargs)


def dispute_opened(escrow: Escrow, *, by=None, reason: str = "quality", amount=None) -> Dispute:
    return services.dispute_open(
        escrow=escrow,
        actor=by or escrow.client,
        reason=reason,
        description="The shelves are crooked and one is loose.",
        amount_in_question=amount,
    )


def png(name: str = "photo.png", content: bytes = PNG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def pdf(name: str = "invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")
