from decimal import Decimal

import pytest
from django.urls import reverse
from djmoney.money import Money

from accounts.tests.factories import ClientFactory, TaskerFactory
from marketplace.models import Offer, Task
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments.escrow import escrow_fund_from_payment
from payments.models import Escrow

pytestmark = pytest.mark.django_db


def test_browse_is_public_and_filters(client):
    TaskFactory(title="Clean my flat", category=Task.Category.CLEANING)
    TaskFactory(title="Move a piano", category=Task.Category.MOVING)
    TaskFactory(title="Hidden", status=Task.Status.CANCELLED)

    response = client.get(reverse("marketplace:task_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Clean my flat" in body and "Move a piano" in body and "Hidden" not in body

    response = client.get(reverse("marketplace:task_list"), {"q": "piano"})
    assert "Move a piano" in response.content.decode()
    assert "Clean my flat" not in response.content.decode()

    response = client.get(reverse("marketplace:task_list"), {"category": "cleaning"})
    assert list(response.context["page"].object_list) == [Task.objects.get(title="Clean my flat")]


@pytest.mark.parametrize("q", ["TV wall", "mount tv", "mounting"])
def test_browse_search_finds_words_in_any_order_and_by_stem(client, q):
    TaskFactory(title="Mount a TV on a plaster wall", description="55 inch screen.")
    TaskFactory(title="Clean my flat")
    body = client.get(reverse("marketplace:task_list"), {"q": q}).content.decode()
    assert "Mount a TV on a plaster wall" in body
    assert "Clean my flat" not in body


def test_browse_search_for_an_unrelated_word_finds_nothing(client):
    TaskFactory(title="Mount a TV on a plaster wall")
    response = client.get(reverse("marketplace:task_list"), {"q": "piano"})
    assert list(response.context["page"].object_list) == []
    assert "No open tasks match your search." in response.content.decode()


def test_browse_search_refuses_an_overlong_query_next_to_the_form(client):
    response = client.get(reverse("marketplace:task_list"), {"q": "wall " * 50})
    assert response.status_code == 200
    assert response.context["form"].errors["q"]


def test_browse_sorts_by_best_match_by_default(client):
    # The first choice is what the browser sends with a search typed into the form.
    select = client.get(reverse("marketplace:task_list")).content.decode().split('name="ordering"')[1]
    assert select.split("<option")[1].startswith(' value="relevance"')


@pytest.mark.parametrize("value", ["1e999999", "1e-999999"])
def test_browse_refuses_an_out_of_range_budget_filter_next_to_the_form(client, value):
    task = TaskFactory()
    response = client.get(reverse("marketplace:task_list"), {"min_budget": value})
    assert response.status_code == 200
    assert response.context["form"].errors["min_budget"]
    assert list(response.context["page"].object_list) == [task]


def test_browse_empty_state_and_pagination(client):
    response = client.get(reverse("marketplace:task_list"))
    assert "There are no open tasks right now." in response.content.decode()
    TaskFactory.create_batch(13)
    response = client.get(reverse("marketplace:task_list"), {"page": 2})
    assert len(response.context["page"].object_list) == 1


def test_post_task_requires_login(client):
    response = client.get(reverse("marketplace:task_create"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    for name in ("my_tasks", "my_offers"):
        assert client.get(reverse(f"marketplace:{name}")).status_code == 302


def test_post_task_page(client):
    user = ClientFactory()
    client.force_login(user)
    data = {
        "title": "Fix a leaking tap",
        "description": "Kitchen tap drips.",
        "category": "handyman",
        "budget_amount": "45.50",
        "budget_currency": "GBP",
    }
    response = client.post(reverse("marketplace:task_create"), data)
    task = Task.objects.get()
    assert response.status_code == 302 and response["Location"] == task.get_absolute_url()
    assert task.client == user and task.budget == Money(Decimal("45.50"), "GBP")

    response = client.post(reverse("marketplace:task_create"), {**data, "budget_amount": "0"})
    assert response.status_code == 400
    assert "The amount must be more than zero." in response.content.decode()
    assert Task.objects.count() == 1


def test_edit_task_only_by_its_client(client):
    task = TaskFactory()
    client.force_login(ClientFactory())
    assert client.get(reverse("marketplace:task_edit", args=[task.pk])).status_code == 404
    client.force_login(task.client)
    response = client.post(
        reverse("marketplace:task_edit", args=[task.pk]),
        {"title": "Renamed", "description": "d", "category": "other", "budget_amount": "99", "budget_currency": "USD"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.title == "Renamed"


def test_bid_accept_pay_deliver_complete_through_pages(client, stripe_emulator):
    task = TaskFactory()
    tasker = TaskerFactory()

    client.force_login(tasker)
    detail = client.get(task.get_absolute_url())
    assert "Make an offer" in detail.content.decode()
    response = client.post(
        reverse("marketplace:offer_submit", args=[task.pk]), {"amount": "110", "currency": "USD", "message": "Hi"}
    )
    assert response.status_code == 302
    offer = Offer.objects.get()
    assert offer.tasker == tasker and offer.status == Offer.Status.PENDING

    client.force_login(task.client)
    assert "Accept" in client.get(task.get_absolute_url()).content.decode()
    assert client.post(reverse("marketplace:offer_accept", args=[offer.pk])).status_code == 302
    task.refresh_from_db()
    escrow = Escrow.objects.get(task=task)
    assert task.status == Task.Status.ASSIGNED and escrow.status == Escrow.Status.AWAITING_PAYMENT
    assert escrow.amount == Decimal("110.00") and escrow.client_total == Decimal("115.50")

    # Nothing to start by hand, and delivering unpaid work is refused.
    client.force_login(tasker)
    assert "Start work" not in client.get(task.get_absolute_url()).content.decode()
    response = client.post(reverse("marketplace:task_deliver", args=[task.pk]))
    assert response.status_code == 409
    task.refresh_from_db()
    assert task.status == Task.Status.ASSIGNED

    # The client pays; the webhook's funding moves the task into progress.
    client.force_login(task.client)
    response = client.post(reverse("payments:checkout_confirm", args=[escrow.pk]), {"payment_method": "pm_card_visa"})
    assert response.status_code == 302 and response["Location"] == task.get_absolute_url()
    escrow.refresh_from_db()
    escrow_fund_from_payment(payment_reference=escrow.payment.reference)
    task.refresh_from_db()
    assert task.status == Task.Status.IN_PROGRESS

    client.force_login(tasker)
    client.post(reverse("marketplace:task_deliver", args=[task.pk]))
    task.refresh_from_db()
    assert task.status == Task.Status.DELIVERED
    escrow.refresh_from_db()
    assert escrow.release_due_at is not None

    client.force_login(task.client)
    response = client.post(reverse("marketplace:task_request_changes", args=[task.pk]), {"reason": ""})
    assert response.status_code == 400
    client.post(reverse("marketplace:task_request_changes", args=[task.pk]), {"reason": "One more coat"})
    task.refresh_from_db()
    escrow.refresh_from_db()
    assert task.status == Task.Status.IN_PROGRESS and escrow.release_due_at is None

    client.force_login(tasker)
    client.post(reverse("marketplace:task_deliver", args=[task.pk]))
    client.force_login(task.client)
    response = client.post(reverse("marketplace:task_complete", args=[task.pk]))
    assert response.status_code == 302
    task.refresh_from_db()
    escrow.refresh_from_db()
    assert task.status == Task.Status.COMPLETED
    assert escrow.status == Escrow.Status.RELEASED and escrow.released_to_tasker == Decimal("88.00")
    timeline = client.get(task.get_absolute_url()).content.decode()
    assert "One more coat" in timeline and "Completed" in timeline and "Released to the tasker" in timeline


def test_refusals_are_shown_next_to_the_form_not_as_errors(client):
    task = TaskFactory()
    tasker = TaskerFactory()
    client.force_login(tasker)
    response = client.post(reverse("marketplace:offer_submit", args=[task.pk]), {"amount": "10", "currency": "EUR"})
    assert response.status_code == 400
    assert "Offers on this task must be in USD" in response.content.decode()

    OfferFactory(task=task, tasker=tasker)
    response = client.post(reverse("marketplace:offer_submit", args=[task.pk]), {"amount": "10", "currency": "USD"})
    assert response.status_code == 400
    assert "You already have an offer on this task" in response.content.decode()

    # A tasker pressing "complete" on someone else's task gets a sentence, not a crash.
    response = client.post(reverse("marketplace:task_complete", args=[task.pk]))
    assert response.status_code == 403
    assert "Only the client who posted this task can do that." in response.content.decode()
    assert Offer.objects.count() == 1


def test_accepting_second_offer_shows_conflict_next_to_offer(client):
    task = TaskFactory()
    first, second = OfferFactory(task=task), OfferFactory(task=task)
    client.force_login(task.client)
    client.post(reverse("marketplace:offer_accept", args=[first.pk]))
    response = client.post(reverse("marketplace:offer_accept", args=[second.pk]))
    assert response.status_code == 409
    assert "no longer takes offers" in response.content.decode()


def test_private_task_is_404_for_strangers_and_visible_to_participants(client):
    task = TaskFactory(status=Task.Status.OPEN)
    offer = OfferFactory(task=task)
    task.status = Task.Status.CANCELLED
    task.save()

    assert client.get(task.get_absolute_url()).status_code == 404
    client.force_login(TaskerFactory())
    assert client.get(task.get_absolute_url()).status_code == 404
    assert client.post(reverse("marketplace:offer_withdraw", args=[offer.pk])).status_code == 404
    client.force_login(offer.tasker)
    assert client.get(task.get_absolute_url()).status_code == 200
    client.force_login(task.client)
    assert client.get(task.get_absolute_url()).status_code == 200


def test_tasker_sees_only_own_offer_on_a_task(client):
    task = TaskFactory()
    mine = OfferFactory(task=task, message="mine here")
    OfferFactory(task=task, message="someone else")
    client.force_login(mine.tasker)
    body = client.get(task.get_absolute_url()).content.decode()
    assert "mine here" in body and "someone else" not in body


def test_my_tasks_and_my_offers(client):
    tasker = TaskerFactory()
    offer = OfferFactory(tasker=tasker, task__title="Paint fence")
    client.force_login(tasker)
    response = client.get(reverse("marketplace:my_offers"))
    assert "Paint fence" in response.content.decode()
    assert "You have not posted any tasks yet." in client.get(reverse("marketplace:my_tasks")).content.decode()
    client.force_login(offer.task.client)
    response = client.get(reverse("marketplace:my_tasks"))
    assert "Paint fence" in response.content.decode()
    assert response.context["page"].object_list[0].offer_count == 1


def test_admin_pages_render(client):
    from accounts.tests.factories import UserFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    offer = OfferFactory()
    client.force_login(staff)
    for url in [
        reverse("admin:marketplace_task_changelist"),
        reverse("admin:marketplace_task_changelist") + "?q=example.com&status=open&budget_currency=USD",
        reverse("admin:marketplace_task_change", args=[offer.task_id]),
        reverse("admin:marketplace_offer_changelist"),
        reverse("admin:marketplace_offer_change", args=[offer.pk]),
    ]:
        assert client.get(url).status_code == 200, url


def test_admin_shows_money_in_the_one_format(client):
    from decimal import Decimal

    from djmoney.money import Money

    from accounts.tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    offer = OfferFactory(amount=Money(Decimal("1400.00"), "USD"))
    for url in [
        reverse("admin:marketplace_offer_changelist"),
        reverse("admin:marketplace_offer_change", args=[offer.pk]),
        reverse("admin:marketplace_task_change", args=[offer.task_id]),
    ]:
        body = client.get(url).content.decode()
        assert "1,400.00 USD" in body and "$1,400.00" not in body, url
