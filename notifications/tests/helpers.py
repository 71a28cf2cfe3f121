"""What the notification tests ask of the database: who was told what, and a delivery run again."""

from notifications import registry
from notifications.models import Notification
from notifications.tasks import event_deliver


def told(kind: str) -> list[tuple[str, str]]:
    """(recipient email, title) of every notification of ``kind``."""
    return sorted(
        Notification.objects.filter(kind=kind).values_list("recipient__email", "title").order_by("recipient__email")
    )


def deliver_again(published, event_class) -> None:
    """The delivery task runs again for each such event, as after a redelivered Celery message."""
    matching = [e for e in published if type(e) is event_class]
    assert matching, f"no {event_class.__name__} was published"
    for event in matching:
        assert event_deliver.apply(args=[registry.event_encode(event)]).get(disable_sync_subtasks=False) == 0
