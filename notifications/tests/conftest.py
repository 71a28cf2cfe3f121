import pytest

from core import events
from core.events import DomainEvent


@pytest.fixture
def published():
    """Every domain event published during the test (those later rolled back too), in order."""
    seen: list[DomainEvent] = []
    events.subscribe(DomainEvent, seen.append)
    yield seen
    events.unsubscribe(DomainEvent, seen.append)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks (the delivery task, eager in tests) of what the block does."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run
