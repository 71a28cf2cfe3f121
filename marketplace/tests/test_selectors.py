import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import ClientFactory, TaskerFactory
from core.errors import NotFound
from marketplace import selectors, services
from marketplace.models import Task
from marketplace.tests.factories import OfferFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", [s for s in Task.Status.values if s != "open"])
def test_non_open_task_visible_only_to_client_and_bidders(status):
    task = TaskFactory()
    offer = OfferFactory(task=task)
    bidder = offer.tasker
    # The database insists that an assigned (or later) task points at its accepted offer.
    Task.objects.filter(pk=task.pk).update(status=status, accepted_offer=None if status == "cancelled" else offer)

    assert selectors.task_get_visible(task_id=task.pk, user=task.client).pk == task.pk
    assert selectors.task_get_visible(task_id=task.pk, user=bidder).pk == task.pk
    for outsider in (AnonymousUser(), TaskerFactory(), ClientFactory()):
        with pytest.raises(NotFound) as exc:
            selectors.task_get_visible(task_id=task.pk, user=outsider)
        assert exc.value.code == "task_not_found"


def test_open_task_visible_to_everyone_and_missing_task_is_not_found():
    task = TaskFactory()
    assert selectors.task_get_visible(task_id=task.pk, user=AnonymousUser()).pk == task.pk
    with pytest.raises(NotFound):
        selectors.task_get_visible(task_id=task.pk + 1000, user=task.client)


def test_offers_client_sees_all_tasker_sees_own_stranger_none():
    task = TaskFactory()
    mine, theirs = OfferFactory(task=task), OfferFactory(task=task)
    assert set(selectors.offer_list_for_task(task=task, user=task.client)) == {mine, theirs}
    assert list(selectors.offer_list_for_task(task=task, user=mine.tasker)) == [mine]
    assert not selectors.offer_list_for_task(task=task, user=TaskerFactory()).exists()
    assert not selectors.offer_list_for_task(task=task, user=AnonymousUser()).exists()
    with pytest.raises(NotFound):
        selectors.offer_get_visible(offer_id=theirs.pk, user=mine.tasker)


def test_timeline_hides_other_taskers_offer_events():
    task = TaskFactory()
    mine = services.offer_submit(task=task, tasker=TaskerFactory(), amount="10", currency="USD")
    services.offer_submit(task=task, tasker=TaskerFactory(), amount="12", currency="USD")
    assert selectors.task_timeline(task=task, user=task.client).count() == 2
    assert [e.offer_id for e in selectors.task_timeline(task=task, user=mine.tasker)] == [mine.pk]


def test_browse_counts_pending_offers_without_n_plus_one():
    for _ in range(5):
        task = TaskFactory()
        OfferFactory.create_batch(2, task=task)
        OfferFactory(task=task, status="withdrawn")
    with CaptureQueriesContext(connection) as queries:
        tasks = list(selectors.task_list_open())
        names = [t.client.profile.public_name for t in tasks]
    assert len(queries) == 1
    assert len(names) == 5
    assert {t.offer_count for t in tasks} == {2}


def test_my_tasks_and_my_offers():
    client = ClientFactory()
    mine = TaskFactory(client=client)
    TaskFactory()
    offer = OfferFactory(task=mine)
    assert list(selectors.task_list_for_client(client=client)) == [mine]
    assert list(selectors.offer_list_for_tasker(tasker=offer.tasker)) == [offer]
    assert not selectors.task_list_for_client(client=client, status="completed").exists()


# --- search ---------------------------------------------------------------------------------------


@pytest.fixture
def tv_task():
    return TaskFactory(title="Mount a TV on a plaster wall", description="55 inch screen, bracket included.")


@pytest.mark.parametrize("q", ["TV wall", "mount tv", "mounting", "WALLS", "plaster -brick", '"plaster wall"'])
def test_search_finds_words_in_any_order_and_by_stem(tv_task, q):
    TaskFactory(title="Clean my flat", description="Kitchen and bathroom.")
    assert list(selectors.task_list_open(q=q)) == [tv_task]


@pytest.mark.parametrize("q", ["piano", "brick plaster -wall", "the"])
def test_search_does_not_find_unrelated_words(tv_task, q):
    assert list(selectors.task_list_open(q=q)) == []


def test_search_ranks_title_matches_first_unless_asked_otherwise():
    in_title = TaskFactory(title="Garden tidy", description="Hedges and lawn.")
    in_description = TaskFactory(title="Weekend help", description="Some garden work and a shed.")
    unrelated = TaskFactory(title="Fix a tap")

    assert list(selectors.task_list_open(q="garden")) == [in_title, in_description]
    assert list(selectors.task_list_open(q="garden", ordering="newest")) == [in_description, in_title]
    # Browsing without a search stays newest first.
    assert list(selectors.task_list_open()) == [unrelated, in_description, in_title]


def test_search_uses_the_gin_index(tv_task):
    # Enough open tasks that reading them all costs more than the index, as in production.
    Task.objects.bulk_create(
        TaskFactory.build(client=tv_task.client, title=f"Assemble bookshelf {n}") for n in range(1000)
    )
    with connection.cursor() as cursor:
        # New GIN entries wait in a pending list (merged by autovacuum later) that the planner
        # prices high; merge it now, as a settled production table would be.
        cursor.execute("SELECT gin_clean_pending_list('task_open_search_idx')")
        cursor.execute("ANALYZE marketplace_task")
    plan = selectors.task_list_open(q="mount tv").explain()
    assert "task_open_search_idx" in plan
