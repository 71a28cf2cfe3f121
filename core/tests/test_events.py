"""Domain events: in-transaction subscribers move with the publisher, on-commit ones only after it commits."""

from dataclasses import dataclass

import pytest
from django.db import transaction

from core import events
from payments.events import EscrowFunded, EscrowReleased

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Happened(events.DomainEvent):
    value: int


@pytest.fixture
def seen():
    calls: list[tuple[str, int]] = []

    def now(event):
        calls.append(("now", event.value))

    def later(event):
        calls.append(("later", event.value))

    events.subscribe(Happened, now)
    events.subscribe(Happened, now)  # ready() run twice: still one subscription
    events.subscribe(Happened, later, on_commit=True)
    yield calls
    events.unsubscribe(Happened, now)
    events.unsubscribe(Happened, later)


def test_in_transaction_subscribers_run_at_once_and_on_commit_ones_after_commit(
    seen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.publish(Happened(1))
        assert seen == [("now", 1)]
    assert seen == [("now", 1), ("later", 1)]


def test_on_commit_subscribers_never_run_when_the_publisher_rolls_back(seen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        events.publish(Happened(2))
        raise RuntimeError("the change fails")
    assert seen == [("now", 2)]


def test_a_failing_on_commit_subscriber_does_not_fail_the_publisher(django_capture_on_commit_callbacks):
    def broken(event):
        raise OSError("mail server down")

    events.subscribe(Happened, broken, on_commit=True)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            events.publish(Happened(3))  # no exception reaches the publisher
    finally:
        events.unsubscribe(Happened, broken)


@pytest.mark.django_db
def test_the_apps_above_payments_follow_its_events():
    assert "marketplace.subscribers.task_funded" in events.subscribers(EscrowFunded)["in_transaction"]
    # notifications: one on-commit subscriber that queues the delivery task (notifications/registry.py)
    assert "notifications.registry.enqueue_EscrowFunded" in events.subscribers(EscrowFunded)["on_commit"]
    assert "marketplace.subscribers.task_released" in events.subscribers(EscrowReleased)["in_transaction"]
