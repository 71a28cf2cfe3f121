import pytest

from accounts.tests.factories import ClientFactory, TaskerFactory
from marketplace import services
from marketplace.tests.factories import OfferFactory, TaskFactory


@pytest.fixture
def client_user(db):
    return ClientFactory()


@pytest.fixture
def tasker(db):
    return TaskerFactory()


@pytest.fixture
def other_tasker(db):
    return TaskerFactory()


@pytest.fixture
def open_task(client_user):
    return TaskFactory(client=client_user)


@pytest.fixture
def assigned_task(open_task, tasker):
    """A task whose offer from ``tasker`` was accepted through the service."""
    offer = OfferFactory(task=open_task, tasker=tasker)
    services.offer_accept(offer=offer, actor=open_task.client)
    open_task.refresh_from_db()
    return open_task
