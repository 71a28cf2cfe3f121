from django import template

from notifications.selectors import notifications_unread_count

register = template.Library()


@register.simple_tag
def unread_notifications(user) -> int:
    """How many notifications ``user`` has not read (0 when logged out): the header's bell."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return notifications_unread_count(user_id=user.pk)


@register.simple_tag
def live_poll_seconds() -> int:
    """How often a page whose socket is down polls for its live parts."""
    from django.conf import settings

    return settings.LIVE_POLL_SECONDS
