"""Sending notifications."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from payments.models import Escrow


def escrow_funded_send(*, escrow_id: int, role: str) -> int:
    """Email the client (``role="client"``) or the tasker that the payment is held in escrow."""
    escrow = Escrow.objects.select_related("task", "client", "tasker").get(pk=escrow_id)
    link = f"{settings.SITE_URL}{escrow.task.get_absolute_url()}"
    if role == "client":
        return send_mail(
            f"Payment held in escrow for “{escrow.task.title}”",
            f"{escrow.client_total} {escrow.currency} is now held by Holdfast for this task. "
            f"The tasker can start; the money is released when you approve the work.\n\n{link}",
            None,
            [escrow.client.email],
        )
    return send_mail(
        f"You can start “{escrow.task.title}”",
        f"The client's payment is held in escrow. When you deliver and the client approves, "
        f"{escrow.tasker_net} {escrow.currency} goes to your Holdfast wallet.\n\n{link}",
        None,
        [escrow.tasker.email],
    )
