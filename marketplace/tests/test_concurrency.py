"""Two clicks on "accept" at the same moment (same offer, or two different offers).

These run in real transactions with real row locks, so ``select_for_update`` is exercised.
"""

import threading

import pytest
from django.db import connection

from accounts.tests.factories import ClientFactory, TaskerFactory
from core.errors import Conflict
from marketplace import services
from marketplace.models import Offer, Task, TaskEvent
from marketplace.tests.factories import OfferFactory, TaskFactory


def _accept_concurrently(offers, actor):
    barrier = threading.Barrier(len(offers))
    outcomes: list[object] = [None] * len(offers)

    def run(index, offer):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = services.offer_accept(offer=offer, actor=actor)
        except Exception as exc:  # recorded and asserted on below
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, offer)) for i, offer in enumerate(offers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_same_offer_accepted_twice_at_once_assigns_once():
    client = ClientFactory()
    task = TaskFactory(client=client)
    offer = OfferFactory(task=task, tasker=TaskerFactory())
    other = OfferFactory(task=task, tasker=TaskerFactory())

    outcomes = _accept_concurrently([offer, offer], client)

    assert all(isinstance(o, Offer) and o.status == Offer.Status.ACCEPTED for o in outcomes), outcomes
    task.refresh_from_db()
    assert task.status == Task.Status.ASSIGNED
    assert task.accepted_offer_id == offer.pk
    assert Offer.objects.filter(task=task, status=Offer.Status.ACCEPTED).count() == 1
    assert Offer.objects.get(pk=other.pk).status == Offer.Status.REJECTED
    assert TaskEvent.objects.filter(task=task, offer__isnull=True, to_status=Task.Status.ASSIGNED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_different_offers_accepted_at_once_only_one_wins():
    client = ClientFactory()
    task = TaskFactory(client=client)
    offers = [OfferFactory(task=task, tasker=TaskerFactory()) for _ in range(2)]

    outcomes = _accept_concurrently(offers, client)

    winners = [o for o in outcomes if isinstance(o, Offer)]
    losers = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert losers[0].code == "task_not_open"
    task.refresh_from_db()
    assert task.status == Task.Status.ASSIGNED
    assert task.accepted_offer_id == winners[0].pk
    statuses = sorted(Offer.objects.filter(task=task).values_list("status", flat=True))
    assert statuses == [Offer.Status.ACCEPTED, Offer.Status.REJECTED]
    assert TaskEvent.objects.filter(task=task, offer__isnull=True, to_status=Task.Status.ASSIGNED).count() == 1
