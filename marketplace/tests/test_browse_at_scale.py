"""Browsing costs the same however many tasks are open: a constant number of SQL statements, the
offer count per listed task only, and the page count kept by PostgreSQL (OpenTaskCount)."""

from decimal import Decimal

import pytest
from django.db import connection
from djmoney.money import Money

from accounts.tests.factories import ClientFactory
from marketplace import selectors
from marketplace import services as market
from marketplace.models import Offer, Task
from marketplace.tests.factories import OfferFactory, TaskFactory

pytestmark = pytest.mark.django_db


def _real_count(**filters) -> int:
    return Task.objects.filter(status=Task.Status.OPEN, **filters).count()


def _kept_count(**filters) -> int:
    return selectors.open_task_count(**filters)


def test_the_kept_open_count_follows_every_way_a_task_opens_or_closes():
    client = ClientFactory()
    posted = [
        market.task_post(
            client=client,
            title=f"Paint a fence {i}",
            description="Two coats.",
            category=category,
            budget_amount="80.00",
            budget_currency=currency,
        )
        for i, (category, currency) in enumerate([("cleaning", "USD"), ("cleaning", "EUR"), ("moving", "USD")])
    ]
    TaskFactory.create_batch(3, category=Task.Category.ASSEMBLY)  # the ORM, not a service
    TaskFactory(status=Task.Status.CANCELLED)  # never open
    market.task_cancel(task=posted[0], actor=client, reason="Done it myself.")
    offer = OfferFactory(task=posted[2])
    market.offer_accept(offer=offer, actor=client)  # assigned: no longer open
    market.task_update(task=posted[1], actor=client, category="moving")  # moved to another category
    Task.objects.filter(category=Task.Category.ASSEMBLY).first().delete()
    with connection.cursor() as cursor:  # even a statement written by hand
        cursor.execute(
            "UPDATE marketplace_task SET status = 'cancelled' WHERE title LIKE 'Assemble%%' AND id = "
            "(SELECT min(id) FROM marketplace_task WHERE status = 'open' AND category = 'assembly')"
        )

    for filters in ({}, {"category": "moving"}, {"category": "cleaning"}, {"category": "assembly"}):
        assert _kept_count(**filters) == _real_count(**filters), filters
    assert _kept_count(currency="EUR") == _real_count(budget_currency="EUR") == 1


@pytest.mark.parametrize("path", ["/", "/api/v1/tasks/", "/api/v1/tasks/?category=moving&currency=usd"])
def test_browsing_runs_the_same_few_statements_for_5_or_60_open_tasks(client, path, django_assert_max_num_queries):
    def counted() -> int:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200
        return len(queries)

    tasks = TaskFactory.create_batch(5, category=Task.Category.MOVING)
    OfferFactory(task=tasks[0])
    small = counted()
    for task in TaskFactory.create_batch(55, category=Task.Category.MOVING):
        OfferFactory(task=task)
        OfferFactory(task=task, status=Offer.Status.WITHDRAWN)
    assert counted() == small
    with django_assert_max_num_queries(1):  # the page: its rows, their pending offers and the open count
        client.get(path)


def test_the_listed_offer_count_is_the_pending_offers_and_the_count_is_right(api_client):
    task = TaskFactory(budget=Money(Decimal("90.00"), "USD"))
    OfferFactory(task=task)
    OfferFactory(task=task)
    OfferFactory(task=task, status=Offer.Status.WITHDRAWN)
    TaskFactory.create_batch(2)

    body = api_client.get("/api/v1/tasks/?page_size=2").json()
    assert body["count"] == 3
    everything = api_client.get("/api/v1/tasks/").json()["results"]
    assert {t["id"]: t["offer_count"] for t in everything}[task.pk] == 2
    # A budget filter or a search counts the matching rows themselves.
    assert api_client.get("/api/v1/tasks/?max_budget=90").json()["count"] == 1


def test_a_page_of_tasks_says_what_the_serializer_says(api_client):
    from marketplace.api.serializers import TaskOutputSerializer

    TaskFactory(title="Fix a tap", budget=Money(Decimal("75.5"), "EUR"), client__profile__display_name="Ana")
    task = TaskFactory(title="Hang a mirror “straight”")
    OfferFactory(task=task)
    assigned = OfferFactory(task=TaskFactory())
    market.offer_accept(offer=assigned, actor=assigned.task.client)

    listed = list(selectors.task_list_open())
    assert api_client.get("/api/v1/tasks/").json()["results"] == [
        dict(TaskOutputSerializer(task).data) for task in listed
    ]


def test_pages_past_the_end_and_odd_page_numbers_behave_as_before(client, api_client):
    TaskFactory.create_batch(25)

    second = api_client.get("/api/v1/tasks/?page=2&page_size=10").json()
    assert second["count"] == 25 and len(second["results"]) == 10 and second["next"] and second["previous"]
    assert len(api_client.get("/api/v1/tasks/?page=3&page_size=10").json()["results"]) == 5
    assert api_client.get("/api/v1/tasks/?page=4&page_size=10").status_code == 404
    assert api_client.get("/api/v1/tasks/?page=x").status_code == 404

    assert client.get("/?page=99").status_code == 200  # the last page, as Django's get_page does
    assert client.get("/?page=nope").status_code == 200
    assert client.get("/?page=3").context["page"].number == 3
