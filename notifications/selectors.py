"""Reads of the notifications app."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from notifications import registry
from notifications.models import Channel, Notification, NotificationPreference


def notifications_for(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """``user``'s notifications shown in the app, newest first."""
    queryset = Notification.objects.filter(recipient=user, in_app=True)
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset.order_by("-created", "-id")


def notifications_unread_count(*, user_id: int) -> int:
    return Notification.objects.filter(recipient_id=user_id, in_app=True, read_at__isnull=True).count()


def notification_as_dict(notification: Notification) -> dict[str, Any]:
    """The JSON a socket and the API show for one notification."""
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "link": notification.link,
        "read_at": notification.read_at.isoformat() if notification.read_at else None,
        "created": notification.created.isoformat(),
    }


def preferences_table(*, user: User) -> list[dict[str, Any]]:
    """Every kind with ``user``'s choice per channel (on unless turned off), for the preferences page."""
    chosen = {
        (kind, channel): enabled
        for kind, channel, enabled in NotificationPreference.objects.filter(user=user).values_list(
            "kind", "channel", "enabled"
        )
    }
    return [
        {
            "kind": kind,
            "channels": [
                {"channel": channel, "label": label, "enabled": chosen.get((kind.key, channel), True)}
                for channel, label in Channel.choices
            ],
        }
        for kind in registry.kind_choices()
    ]
