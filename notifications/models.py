"""In-app notifications and each person's choice of what reaches them, and how."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Channel(models.TextChoices):
    IN_APP = "in_app", "In the app"
    EMAIL = "email", "By email"


class Notification(models.Model):
    """One thing one person is told. ``dedupe_key`` names the event it is about (unique per
    recipient), so an event delivered twice notifies once and emails at most once."""

    class EmailStatus(models.TextChoices):
        NOT_WANTED = "not_wanted", "Not wanted"
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    dedupe_key = models.CharField(max_length=200)
    # False when the person turned this kind off in the app: the row still records the event
    # (so its email goes at most once) but is not listed or counted.
    in_app = models.BooleanField(default=True)
    email_status = models.CharField(max_length=16, choices=EmailStatus.choices, default=EmailStatus.NOT_WANTED)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="notification_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created"], name="notification_inbox"),
            models.Index(
                fields=["recipient"], name="notification_unread", condition=Q(read_at__isnull=True, in_app=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """A person's choice for one kind and channel. No row: the default (on)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=64)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="notification_preference_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.channel}: {'on' if self.enabled else 'off'}"
