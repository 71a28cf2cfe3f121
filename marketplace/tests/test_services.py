from decimal import Decimal

import pytest
from djmoney.money import Money

from accounts.tests.factories import ClientFactory, TaskerFactory, UserFactory
from core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationError
from marketplace import services
from marketplace.models import Offer, Task, TaskEvent
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments.escrow import escrow_fund_from_payment
from payments.tests.escrow_helpers import escrow_for_task, fund

pytestmark = pytest.mark.django_db


def _post(client, **overrides):
    fields = {
        "client": client,
        "title": "Mount a TV",
        "description": "55 inch TV on a brick wall.",
        "category": Task.Category.HANDYMAN,
        "budget_amount": "80.00",
        "budget_currency": "EUR",
    }
    fields.update(overrides)
    return services.task_post(**fields)


# --- task_post / task_update -------------------------------------------------------------------


def test_post_creates_open_task_with_event(client_user):
    task = _post(client_user)
    assert task.status == Task.Status.OPEN
    assert task.budget == Money(Decimal("80.00"), "EUR")
    assert list(task.events.values_list("from_status", "to_status")) == [("", "open")]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"title": "   "}, "title_required"),
        ({"description": ""}, "description_required"),
        ({"title": "x" * 121}, "title_too_long"),
        ({"category": "plumbing"}, "category_invalid"),
        ({"budget_amount": "0"}, "amount_not_positive"),
        ({"budget_amount": "-5"}, "amount_not_positive"),
        ({"budget_amount": "10.001"}, "amount_precision"),
        ({"budget_amount": "ten"}, "amount_invalid"),
        ({"budget_currency": "JPY"}, "currency_not_supported"),
        ({"budget_currency": ""}, "currency_not_supported"),
    ],
)
def test_post_refuses_bad_input_and_creates_nothing(client_user, overrides, code):
    with pytest.raises(ValidationError) as exc:
        _post(client_user, **overrides)
    assert exc.value.code == code
    assert not Task.objects.exists()
    assert not TaskEvent.objects.exists()


def test_post_refuses_tasker_only_profile():
    with pytest.raises(PermissionDenied) as exc:
        _post(TaskerFactory())
    assert exc.value.code == "not_a_client"
    assert not Task.objects.exists()


def test_update_changes_open_task_for_its_client(open_task):
    services.task_update(task=open_task, actor=open_task.client, title="New title", budget_amount="150")
    open_task.refresh_from_db()
    assert open_task.title == "New title"
    assert open_task.budget == Money(Decimal("150.00"), "USD")


def test_update_refuses_other_user_and_non_open_task(open_task, assigned_task):
    stranger = ClientFactory()
    with pytest.raises(PermissionDenied) as exc:
        services.task_update(task=open_task, actor=stranger, title="Mine now")
    assert exc.value.code == "not_task_client"
    with pytest.raises(Conflict) as exc:
        services.task_update(task=assigned_task, actor=assigned_task.client, title="Too late")
    assert exc.value.code == "task_not_open"
    assigned_task.refresh_from_db()
    assert assigned_task.title != "Too late"


def test_update_refuses_currency_change_while_offers_pending(open_task):
    OfferFactory(task=open_task)
    with pytest.raises(Conflict) as exc:
        services.task_update(task=open_task, actor=open_task.client, budget_currency="GBP")
    assert exc.value.code == "currency_locked"
    open_task.refresh_from_db()
    assert open_task.currency == "USD"


# --- offer_submit --------------------------------------------------------------------------


def test_submit_creates_pending_offer(open_task, tasker):
    offer = services.offer_submit(task=open_task, tasker=tasker, amount="95.50", currency="usd", message="Hi")
    assert offer.status == Offer.Status.PENDING
    assert offer.amount == Money(Decimal("95.50"), "USD")
    assert offer.events.get().to_status == Offer.Status.PENDING


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        ("0", "USD", "amount_not_positive"),
        ("-1", "USD", "amount_not_positive"),
        ("1.234", "USD", "amount_precision"),
        ("abc", "USD", "amount_invalid"),
        ("10", "XYZ", "currency_not_supported"),
        ("10", "EUR", "currency_mismatch"),
    ],
)
def test_submit_refuses_bad_money(open_task, tasker, amount, currency, code):
    with pytest.raises(ValidationError) as exc:
        services.offer_submit(task=open_task, tasker=tasker, amount=amount, currency=currency)
    assert exc.value.code == code
    assert not Offer.objects.exists()


def test_submit_refuses_own_task_non_tasker_and_non_open_task(open_task, assigned_task):
    both_roles = TaskerFactory()
    both_roles.profile.is_client = True
    both_roles.profile.save()
    own = TaskFactory(client=both_roles)
    cases = [
        (own, both_roles, PermissionDenied, "own_task"),
        (open_task, UserFactory(), PermissionDenied, "not_a_tasker"),
        (open_task, ClientFactory(), PermissionDenied, "not_a_tasker"),
        (assigned_task, TaskerFactory(), Conflict, "task_not_open"),
    ]
    before = Offer.objects.count()
    for task, user, error, code in cases:
        with pytest.raises(error) as exc:
            services.offer_submit(task=task, tasker=user, amount="50", currency="USD")
        assert exc.value.code == code
    assert Offer.objects.count() == before


def test_submit_twice_is_refused_but_allowed_again_after_withdrawing(open_task, tasker):
    first = services.offer_submit(task=open_task, tasker=tasker, amount="90", currency="USD")
    with pytest.raises(Conflict) as exc:
        services.offer_submit(task=open_task, tasker=tasker, amount="80", currency="USD")
    assert exc.value.code == "offer_exists"
    services.offer_withdraw(offer=first, actor=tasker)
    second = services.offer_submit(task=open_task, tasker=tasker, amount="80", currency="USD")
    assert second.status == Offer.Status.PENDING
    assert Offer.objects.filter(task=open_task, tasker=tasker).count() == 2


def test_database_refuses_two_live_offers_from_one_tasker(open_task, tasker):
    from django.db import IntegrityError, transaction

    OfferFactory(task=open_task, tasker=tasker)
    with pytest.raises(IntegrityError), transaction.atomic():
        OfferFactory(task=open_task, tasker=tasker)


# --- offer_withdraw / offer_reject -----------------------------------------------------------


def test_withdraw_is_idempotent_and_only_for_the_bidder(open_task, tasker, other_tasker):
    offer = OfferFactory(task=open_task, tasker=tasker)
    with pytest.raises(PermissionDenied) as exc:
        services.offer_withdraw(offer=offer, actor=other_tasker)
    assert exc.value.code == "not_offer_owner"
    services.offer_withdraw(offer=offer, actor=tasker)
    again = services.offer_withdraw(offer=offer, actor=tasker)
    assert again.status == Offer.Status.WITHDRAWN
    assert offer.events.filter(to_status=Offer.Status.WITHDRAWN).count() == 1


def test_withdraw_refuses_accepted_offer(assigned_task, tasker):
    with pytest.raises(InvalidTransition) as exc:
        services.offer_withdraw(offer=assigned_task.accepted_offer, actor=tasker)
    assert exc.value.code == "offer_not_pending"
    assert Offer.objects.get(pk=assigned_task.accepted_offer_id).status == Offer.Status.ACCEPTED


def test_reject_by_client_only(open_task, tasker):
    offer = OfferFactory(task=open_task, tasker=tasker)
    with pytest.raises(PermissionDenied):
        services.offer_reject(offer=offer, actor=tasker)
    services.offer_reject(offer=offer, actor=open_task.client, reason="Too far away")
    offer.refresh_from_db()
    assert offer.status == Offer.Status.REJECTED


# --- offer_accept --------------------------------------------------------------------------


def test_accept_assigns_task_and_rejects_other_pending_offers(open_task, tasker, other_tasker):
    chosen = OfferFactory(task=open_task, tasker=tasker)
    other = OfferFactory(task=open_task, tasker=other_tasker)
    withdrawn = OfferFactory(task=open_task, status=Offer.Status.WITHDRAWN)

    services.offer_accept(offer=chosen, actor=open_task.client)

    open_task.refresh_from_db()
    assert open_task.status == Task.Status.ASSIGNED
    assert open_task.accepted_offer_id == chosen.pk
    assert open_task.assigned_at is not None
    assert Offer.objects.get(pk=chosen.pk).status == Offer.Status.ACCEPTED
    assert Offer.objects.get(pk=other.pk).status == Offer.Status.REJECTED
    assert Offer.objects.get(pk=withdrawn.pk).status == Offer.Status.WITHDRAWN
    assert open_task.events.filter(offer__isnull=True, to_status=Task.Status.ASSIGNED).count() == 1


def test_accept_same_offer_twice_returns_it_unchanged(open_task, tasker):
    offer = OfferFactory(task=open_task, tasker=tasker)
    services.offer_accept(offer=offer, actor=open_task.client)
    events = TaskEvent.objects.count()
    again = services.offer_accept(offer=offer, actor=open_task.client)
    assert again.status == Offer.Status.ACCEPTED
    assert TaskEvent.objects.count() == events


def test_accept_other_offer_on_assigned_task_conflicts(open_task, tasker, other_tasker):
    first = OfferFactory(task=open_task, tasker=tasker)
    second = OfferFactory(task=open_task, tasker=other_tasker)
    services.offer_accept(offer=first, actor=open_task.client)
    with pytest.raises(Conflict) as exc:
        services.offer_accept(offer=second, actor=open_task.client)
    assert exc.value.code == "task_not_open"
    open_task.refresh_from_db()
    assert open_task.accepted_offer_id == first.pk


def test_accept_refused_for_non_client_and_non_pending_offer(open_task, tasker):
    offer = OfferFactory(task=open_task, tasker=tasker)
    with pytest.raises(PermissionDenied) as exc:
        services.offer_accept(offer=offer, actor=tasker)
    assert exc.value.code == "not_task_client"
    services.offer_withdraw(offer=offer, actor=tasker)
    with pytest.raises(Conflict) as exc:
        services.offer_accept(offer=offer, actor=open_task.client)
    assert exc.value.code == "offer_not_pending"
    open_task.refresh_from_db()
    assert open_task.status == Task.Status.OPEN


# --- the task's life after assignment --------------------------------------------------------


def _fund(task):
    """Pay for the task's escrow with a test card: the funding, not the tasker, starts the work."""
    fund(escrow_for_task(task))
    task.refresh_from_db()


def test_full_lifecycle_with_changes_requested(assigned_task, tasker, stripe_emulator):
    client = assigned_task.client
    _fund(assigned_task)
    services.task_mark_delivered(task=assigned_task, actor=tasker)
    services.task_request_changes(task=assigned_task, actor=client, reason="The shelf wobbles.")
    services.task_mark_delivered(task=assigned_task, actor=tasker, note="Fixed the wobble.")
    services.task_complete(task=assigned_task, actor=client)

    assigned_task.refresh_from_db()
    assert assigned_task.status == Task.Status.COMPLETED
    assert assigned_task.completed_at is not None
    steps = list(assigned_task.events.filter(offer__isnull=True).values_list("from_status", "to_status"))
    assert steps == [
        ("open", "assigned"),
        ("assigned", "in_progress"),
        ("in_progress", "delivered"),
        ("delivered", "in_progress"),
        ("in_progress", "delivered"),
        ("delivered", "completed"),
    ]
    assert assigned_task.events.get(from_status="delivered", to_status="in_progress").reason == "The shelf wobbles."


def test_repeated_transitions_are_harmless(assigned_task, tasker, stripe_emulator):
    client = assigned_task.client
    _fund(assigned_task)
    escrow_fund_from_payment(payment_reference=escrow_for_task(assigned_task).payment.reference)
    for _ in range(2):
        services.task_mark_delivered(task=assigned_task, actor=tasker)
    for _ in range(2):
        services.task_complete(task=assigned_task, actor=client)
    assert assigned_task.events.filter(to_status=Task.Status.COMPLETED).count() == 1
    assert assigned_task.events.filter(to_status=Task.Status.IN_PROGRESS).count() == 1


def test_transitions_refuse_wrong_actor_and_wrong_state(assigned_task, tasker, other_tasker):
    client = assigned_task.client
    with pytest.raises(PermissionDenied) as exc:
        services.task_mark_delivered(task=assigned_task, actor=other_tasker)
    assert exc.value.code == "not_assigned_tasker"
    with pytest.raises(PermissionDenied) as exc:
        services.task_mark_delivered(task=assigned_task, actor=client)
    assert exc.value.code == "not_assigned_tasker"
    with pytest.raises(InvalidTransition):
        services.task_mark_delivered(task=assigned_task, actor=tasker)
    with pytest.raises(InvalidTransition):
        services.task_complete(task=assigned_task, actor=client)
    with pytest.raises(PermissionDenied) as exc:
        services.task_complete(task=assigned_task, actor=tasker)
    assert exc.value.code == "not_task_client"
    assigned_task.refresh_from_db()
    assert assigned_task.status == Task.Status.ASSIGNED


def test_request_changes_needs_a_reason(assigned_task, tasker, stripe_emulator):
    _fund(assigned_task)
    services.task_mark_delivered(task=assigned_task, actor=tasker)
    with pytest.raises(ValidationError) as exc:
        services.task_request_changes(task=assigned_task, actor=assigned_task.client, reason="  ")
    assert exc.value.code == "reason_required"
    assigned_task.refresh_from_db()
    assert assigned_task.status == Task.Status.DELIVERED


# --- task_cancel ---------------------------------------------------------------------------


def test_cancel_open_task_rejects_pending_offers_and_is_idempotent(open_task):
    offers = OfferFactory.create_batch(2, task=open_task)
    services.task_cancel(task=open_task, actor=open_task.client, reason="Did it myself")
    services.task_cancel(task=open_task, actor=open_task.client)
    open_task.refresh_from_db()
    assert open_task.status == Task.Status.CANCELLED
    assert {Offer.objects.get(pk=o.pk).status for o in offers} == {Offer.Status.REJECTED}
    assert open_task.events.filter(to_status=Task.Status.CANCELLED).count() == 1


def test_cancel_in_progress_refunds_in_full_once_the_tasker_agrees(assigned_task, tasker, stripe_emulator):
    from disputes.models import Dispute
    from disputes.services import dispute_settlement_accept

    _fund(assigned_task)
    with pytest.raises(PermissionDenied):
        services.task_cancel(task=assigned_task, actor=tasker)
    services.task_cancel(task=assigned_task, actor=assigned_task.client, reason="Found someone nearer")
    assigned_task.refresh_from_db()
    assert assigned_task.status == Task.Status.IN_PROGRESS  # the work has started: the tasker is asked
    assert escrow_for_task(assigned_task).status == "disputed"
    dispute_settlement_accept(dispute=Dispute.objects.get(escrow__task=assigned_task), actor=tasker)
    assigned_task.refresh_from_db()
    assert assigned_task.status == Task.Status.CANCELLED
    assert escrow_for_task(assigned_task).status == "refunded"


def test_cancel_after_delivery_is_refused(assigned_task, tasker, stripe_emulator):
    _fund(assigned_task)
    services.task_mark_delivered(task=assigned_task, actor=tasker)
    with pytest.raises(Conflict) as exc:
        services.task_cancel(task=assigned_task, actor=assigned_task.client)
    assert exc.value.code == "escrow_delivered"
    assigned_task.refresh_from_db()
    assert assigned_task.status == Task.Status.DELIVERED


def test_cancel_assigned_task(assigned_task):
    services.task_cancel(task=assigned_task, actor=assigned_task.client)
    assigned_task.refresh_from_db()
    assert assigned_task.status == Task.Status.CANCELLED


def test_cancelled_task_takes_no_offers(open_task, tasker):
    services.task_cancel(task=open_task, actor=open_task.client)
    with pytest.raises(Conflict) as exc:
        services.offer_submit(task=open_task, tasker=tasker, amount="10", currency="USD")
    assert exc.value.code == "task_not_open"


def test_timeline_rows_cannot_be_rewritten(open_task):
    from django.db import DatabaseError, transaction

    event = TaskEvent.objects.create(task=open_task, to_status="open")
    with pytest.raises(DatabaseError), transaction.atomic():
        TaskEvent.objects.filter(pk=event.pk).update(reason="edited")
    with pytest.raises(DatabaseError), transaction.atomic():
        TaskEvent.objects.filter(pk=event.pk).delete()
