"""Each refusal is a clear error with a stable code, and nothing moves."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import TaskerFactory
from core.errors import ApplicationError
from payouts import services
from payouts.models import Payout
from payouts.tests.helpers import earn, finance_user, platform_funds_available, tasker_earning
from wallets.models import JournalEntry
from wallets.selectors import wallet_balances

pytestmark = pytest.mark.django_db


def _available(tasker) -> Decimal:
    return next(b.available for b in wallet_balances(user=tasker) if b.currency == "USD")


def _refused(code: str, call) -> ApplicationError:
    entries_before = JournalEntry.objects.count()
    payouts_before = Payout.objects.count()
    with pytest.raises(ApplicationError) as refused:
        call()
    assert refused.value.code == code, refused.value.message
    assert refused.value.message.endswith(".")  # a sentence
    assert JournalEntry.objects.count() == entries_before and Payout.objects.count() == payouts_before
    return refused.value


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        ("9.99", "USD", "payout_below_minimum"),
        ("80.01", "USD", "insufficient_funds"),
        ("1e3", "USD", "amount_invalid"),
        ("-5", "USD", "amount_not_positive"),
        ("10.001", "USD", "amount_precision"),
        ("20.00", "EUR", "payout_currency_not_supported"),  # the bank account takes USD
        ("20.00", "JPY", "currency_not_supported"),
    ],
)
def test_bad_requests_are_refused_and_move_nothing(payouts_world, amount, currency, code):
    tasker = tasker_earning("100.00")
    _refused(code, lambda: services.payout_request(tasker=tasker, amount=amount, currency=currency))
    assert _available(tasker) == Decimal("80.00")


def test_above_balance_says_how_much_can_be_paid_out(payouts_world):
    tasker = tasker_earning("100.00")
    error = _refused("insufficient_funds", lambda: services.payout_request(tasker=tasker, amount="500", currency="USD"))
    assert "80.00 USD" in error.message and error.details["available"] == "80.00"


def test_not_onboarded_tasker_cannot_request(payouts_world):
    never = TaskerFactory()
    earn(never, "100.00")
    _refused("payout_account_missing", lambda: services.payout_request(tasker=never, amount="20", currency="USD"))
    half = TaskerFactory()
    earn(half, "100.00")
    services.payout_account_get_or_create(user=half)  # started, not finished with Stripe
    error = _refused(
        "payout_account_not_ready", lambda: services.payout_request(tasker=half, amount="20", currency="USD")
    )
    assert "external_account" in error.details["requirements_due"]


def test_approving_your_own_payout_or_twice_as_second_approver_is_refused(payouts_world, settings):
    settings.PAYOUT_SECOND_APPROVAL_THRESHOLD = Decimal("50.00")
    maker = finance_user()
    tasker = tasker_earning("100.00")
    payout = services.payout_request(tasker=tasker, amount="60.00", currency="USD")
    services.payout_approve(payout=payout, actor=maker)
    with pytest.raises(ApplicationError) as same:
        services.payout_approve(payout=payout, actor=maker)
    assert same.value.code == "second_approver_same"
    payout.refresh_from_db()
    assert payout.status == Payout.Status.REQUESTED and payout.second_approved_by is None

    # A Finance user who is also the tasker may not approve their own payout.
    own = finance_user(tasker=True)
    earn(own, "100.00")
    from payouts.tests.helpers import onboard

    onboard(own)
    mine = services.payout_request(tasker=own, amount="20.00", currency="USD")
    with pytest.raises(ApplicationError) as refused:
        services.payout_approve(payout=mine, actor=own)
    assert refused.value.code == "payout_approve_own"


def test_a_tasker_cannot_approve_and_support_cannot_act(payouts_world):
    tasker = tasker_earning("100.00")
    payout = services.payout_request(tasker=tasker, amount="20.00", currency="USD")
    with pytest.raises(ApplicationError) as refused:
        services.payout_approve(payout=payout, actor=TaskerFactory())
    assert refused.value.code == "payout_permission_denied"
    with pytest.raises(ApplicationError):
        services.payout_hold(payout=payout, actor=TaskerFactory(), reason="no")


def test_another_taskers_payout_is_not_found_on_the_api_and_the_page(payouts_world, api_client, client):
    tasker = tasker_earning("100.00")
    payout = services.payout_request(tasker=tasker, amount="20.00", currency="USD")
    stranger = TaskerFactory()
    api_client.force_authenticate(stranger)
    for method, path in [
        ("get", f"/api/v1/payouts/{payout.pk}/"),
        ("post", f"/api/v1/payouts/{payout.pk}/cancel/"),
        ("post", f"/api/v1/payouts/{payout.pk}/retry/"),
    ]:
        response = getattr(api_client, method)(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "payout_not_found"
    client.force_login(stranger)
    assert client.get(reverse("payouts:detail", args=[payout.pk])).status_code == 404
    assert client.post(reverse("payouts:cancel", args=[payout.pk])).status_code == 404
    payout.refresh_from_db()
    assert payout.status == Payout.Status.PROCESSING and payout.cancelled_at is None


def test_a_payout_on_its_way_cannot_be_cancelled(payouts_world, django_capture_on_commit_callbacks):
    tasker = tasker_earning("100.00")
    platform_funds_available(payouts_world)
    with django_capture_on_commit_callbacks(execute=True):
        payout = services.payout_request(tasker=tasker, amount="20.00", currency="USD")
    payout.refresh_from_db()
    assert payout.status == Payout.Status.IN_TRANSIT
    _refused("payout_not_stoppable", lambda: services.payout_cancel(payout=payout, actor=tasker))
