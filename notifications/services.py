"""Every write of the notifications app: notifications from events, read marks, preferences, email.

``event_notify`` is what the delivery task runs for each domain event: each registered notifier
returns the people to tell (``Notice``), each becomes one ``Notification`` row unique per
recipient and ``dedupe_key``, so an event delivered twice notifies once and is emailed at most
once. After the commit, new rows are pushed to their recipient's sockets and their emails
enqueued (``notification_email`` task), and the event's live topics are refreshed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, IntegrityError, transaction
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone

from accounts.models import User
from core.errors import NotFound, ValidationError
from core.events import DomainEvent
from notifications import live, registry
from notifications.models import Channel, Notification, NotificationPreference

logger = logging.getLogger(__name__)

TITLE_MAX = Notification._meta.get_field("title").max_length
KEY_MAX = Notification._meta.get_field("dedupe_key").max_length


@dataclass(frozen=True)
class Delivery:
    """What ``event_notify`` did: the notifications it created (not those that already existed)."""

    created: list[Notification]
    duplicates: int


def event_notify(*, event: DomainEvent) -> Delivery:
    """Tell the people each registered notifier names about ``event``, and refresh its live topics.

    Safe to call again with the same event (a redelivered task): existing notifications are left
    as they are, nothing is emailed or pushed twice. A notifier that fails is logged and the
    others still run.
    """
    created: list[Notification] = []
    duplicates = 0
    topics: set[tuple[int, str]] = set()
    for kind, notifier in registry.notifiers_for(type(event)):
        try:
            notices = list(notifier(event) or ())
        except DatabaseError:
            raise  # the database is down, not the notifier wrong: the task retries
        except Exception:
            logger.exception("Notifier %s failed for %r", kind.key, event)
            continue
        for notice in notices:
            notification = notification_create(kind=kind.key, notice=notice)
            if notification is None:
                duplicates += 1
            else:
                created.append(notification)
            topics.update((notice.recipient_id, topic) for topic in notice.topics)
    for refresher in registry.refreshers_for(type(event)):
        try:
            topics.update(refresher(event) or ())
        except DatabaseError:
            raise
        except Exception:
            logger.exception("Live refresher %s failed for %r", refresher.__qualname__, event)
    for user_id, topic in sorted(topics):
        live.push(user_id, topic)
    return Delivery(created=created, duplicates=duplicates)


def notification_create(*, kind: str, notice: registry.Notice) -> Notification | None:
    """One notification for ``notice.recipient_id``, rendered from the kind's templates, or None
    when that recipient already has one for ``notice.dedupe_key``. On commit: pushed to the
    recipient's sockets (if they want it in the app) and emailed (if they want it by email)."""
    key = _dedupe_key(kind, notice.dedupe_key)
    existing = Notification.objects.filter(recipient_id=notice.recipient_id, dedupe_key=key).first()
    if existing is not None:
        if existing.email_status == Notification.EmailStatus.PENDING:
            # Delivered again while its email is still unsent (its first enqueue may have been
            # lost): enqueue it again. The send locks the row and checks, so it goes at most once.
            _email_render_and_enqueue(existing, _context(notice, existing.recipient))
        return None
    recipient = User.objects.filter(pk=notice.recipient_id, is_active=True).first()
    if recipient is None:
        return None
    wants = preferences_for(user=recipient, kind=kind)
    context = _context(notice, recipient)
    title = " ".join(_render_text(f"notifications/kinds/{kind}/title.txt", context).split())[:TITLE_MAX]
    body = _render_text(f"notifications/kinds/{kind}/body.txt", context).strip()
    notification = Notification(
        recipient=recipient,
        kind=kind,
        title=title,
        body=body,
        link=notice.link,
        dedupe_key=key,
        in_app=wants[Channel.IN_APP],
        email_status=Notification.EmailStatus.PENDING if wants[Channel.EMAIL] else Notification.EmailStatus.NOT_WANTED,
    )
    try:
        with transaction.atomic():
            notification.save()
    except IntegrityError:  # the same event delivered twice at the same moment: the other one won
        return None
    if notification.email_status == Notification.EmailStatus.PENDING:
        _email_render_and_enqueue(notification, context)
    if notification.in_app:
        transaction.on_commit(lambda: notification_push(notification=notification))
    return notification


def _context(notice: registry.Notice, recipient: User) -> dict:
    return {
        **notice.context,
        "recipient": recipient,
        "link": notice.link,
        "absolute_link": _absolute(notice.link),
        "site_url": settings.SITE_URL,
    }


def _email_render_and_enqueue(notification: Notification, context: dict) -> None:
    kind = notification.kind
    email_context = {**context, "notification": notification}
    text = _render_text(f"notifications/kinds/{kind}/email.txt", email_context)
    html = render_to_string(f"notifications/kinds/{kind}/email.html", email_context)
    title = notification.title
    transaction.on_commit(lambda: _email_enqueue(notification.pk, title, text, html))


def _render_text(name: str, context: dict) -> str:
    # Plain text (titles, bodies, text emails): nothing is HTML-escaped; pages escape when they show it.
    return get_template(name).template.render(Context(context, autoescape=False))


def _dedupe_key(kind: str, key: str) -> str:
    full = f"{kind}:{key}"
    if len(full) <= KEY_MAX:
        return full
    return f"{kind}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _absolute(link: str) -> str:
    if not link or link.startswith(("http://", "https://")):
        return link
    return f"{settings.SITE_URL.rstrip('/')}{link}"


def _email_enqueue(notification_id: int, subject: str, text: str, html: str) -> None:
    from notifications.tasks import notification_email

    try:
        notification_email.delay(notification_id, subject, text, html)
    except Exception:  # the broker is down: the notification stands; a redelivery enqueues it again
        logger.exception("Email of notification %s not queued", notification_id)


def notification_push(*, notification: Notification) -> None:
    """Tell the recipient's sockets: the new notification and the unread count."""
    from notifications.selectors import notification_as_dict, notifications_unread_count

    live.send(
        notification.recipient_id,
        live.message(
            "notifications",
            {
                "notification": notification_as_dict(notification),
                "unread": notifications_unread_count(user_id=notification.recipient_id),
            },
        ),
    )


# --- email ----------------------------------------------------------------------------------


def notification_email_send(*, notification_id: int, subject: str, text: str, html: str) -> int:
    """Email one notification to its recipient, at most once: the row is locked while sending and
    marked sent in the same transaction, so a retried or duplicated task sends nothing more. A
    mail-server error propagates (the task retries) and leaves it pending. Returns emails sent."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().select_related("recipient").filter(pk=notification_id)
        notification = notification.first()
        if notification is None or notification.email_status != Notification.EmailStatus.PENDING:
            return 0
        message = EmailMultiAlternatives(subject, text, None, [notification.recipient.email])
        message.attach_alternative(html, "text/html")
        sent = message.send()
        notification.email_status = Notification.EmailStatus.SENT
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["email_status", "emailed_at"])
        return sent


def notification_email_failed(*, notification_id: int) -> None:
    """The mail server kept failing after every retry: say so on the row (the admin lists them)."""
    Notification.objects.filter(pk=notification_id, email_status=Notification.EmailStatus.PENDING).update(
        email_status=Notification.EmailStatus.FAILED
    )


# --- reading --------------------------------------------------------------------------------


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of ``user``'s notifications read (again: unchanged). Another user's: ``not_found``."""
    notification = Notification.objects.filter(pk=notification_id, recipient=user, in_app=True).first()
    if notification is None:
        raise NotFound("No such notification.", code="notification_not_found")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
        _unread_push(user.pk)
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of ``user`` read; how many changed."""
    changed = Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if changed:
        _unread_push(user.pk)
    return changed


def _unread_push(user_id: int) -> None:
    from notifications.selectors import notifications_unread_count

    live.push(user_id, "notifications", {"unread": notifications_unread_count(user_id=user_id)})


# --- preferences ----------------------------------------------------------------------------


def preferences_for(*, user: User, kind: str) -> dict[str, bool]:
    wants = {Channel.IN_APP: True, Channel.EMAIL: True}
    for channel, enabled in NotificationPreference.objects.filter(user=user, kind=kind).values_list(
        "channel", "enabled"
    ):
        wants[channel] = enabled
    return wants


def preferences_set(*, user: User, choices: Iterable[tuple[str, str, bool]]) -> None:
    """Set ``user``'s choices, each ``(kind, channel, enabled)``. An unknown kind or channel is
    refused (``preference_invalid``) and nothing changes."""
    choices = list(choices)
    for kind, channel, _ in choices:
        if kind not in registry.KINDS or channel not in Channel.values:
            raise ValidationError(
                f"There is no notification “{kind}” by “{channel}” to set.",
                code="preference_invalid",
                details={"kind": kind, "channel": channel},
            )
    with transaction.atomic():
        for kind, channel, enabled in choices:
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind, channel=channel, defaults={"enabled": bool(enabled)}
            )
