"""The back office: escrow console actions by staff group, and the fee policy editor."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.roles import FINANCE, SUPPORT, staff_groups_sync
from accounts.tests.factories import UserFactory
from marketplace.models import Task
from payments.models import Escrow, FeePolicy
from payments.services import fee_policy_active
from payments.tests.escrow_helpers import accepted_escrow, delivered_task, fund
from wallets.models import JournalEntry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]

CHANGELIST = "admin:payments_escrow_changelist"


def _staff(group_name):
    staff_groups_sync()
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


def _action(client, action, escrows, **form):
    data = {"action": action, "_selected_action": [e.pk for e in escrows], "index": 0}
    first = client.post(reverse(CHANGELIST), data)
    if first.status_code != 200:
        return first  # refused: back to the list
    return client.post(reverse(CHANGELIST), {**data, "apply": "1", **form}, follow=True)


def test_console_lists_filters_and_searches(client):
    funded = fund(accepted_escrow())
    unpaid = accepted_escrow()
    Escrow.objects.filter(pk=funded.pk).update(funded_at=timezone.now() - timedelta(days=60))
    client.force_login(_staff(SUPPORT))
    url = reverse(CHANGELIST)
    response = client.get(url)
    assert response.status_code == 200
    assert {e.pk for e in response.context["cl"].result_list} == {funded.pk, unpaid.pk}
    assert [e.pk for e in client.get(url, {"stale": "yes"}).context["cl"].result_list] == [funded.pk]
    assert [e.pk for e in client.get(url, {"status": "awaiting_payment"}).context["cl"].result_list] == [unpaid.pk]
    assert [e.pk for e in client.get(url, {"q": unpaid.task.title}).context["cl"].result_list] == [unpaid.pk]
    assert [e.pk for e in client.get(url, {"q": funded.payment.reference}).context["cl"].result_list] == [funded.pk]
    assert client.get(url, {"release_due": "overdue"}).status_code == 200
    detail = client.get(reverse("admin:payments_escrow_change", args=[funded.pk]))
    assert detail.status_code == 200 and "Funded" in detail.content.decode()
    assert client.get(reverse("admin:payments_escrow_add")).status_code == 403


def test_escrows_needing_attention_are_one_click_away(client):
    from moneyed import Money

    from payments import escrow as services
    from processors.stripe import gateway as stripe_gateway

    released = fund(accepted_escrow())
    services.escrow_release(escrow=released, actor=None, reason="Approved")
    fine = fund(accepted_escrow())
    stripe_gateway.refund_create(  # refunded in the Stripe Dashboard after the tasker was paid
        payment_intent_id=released.payment.reference, amount=Money(Decimal("10.00"), "USD"), key="dashboard"
    )
    services.escrow_refunds_settle_for_charge(charge_reference=released.payment.charge_reference)
    client.force_login(_staff(SUPPORT))

    listed = client.get(reverse(CHANGELIST), {"attention": "yes"})

    assert [e.pk for e in listed.context["cl"].result_list] == [released.pk]
    assert fine.pk not in {e.pk for e in listed.context["cl"].result_list}
    detail = client.get(reverse("admin:payments_escrow_change", args=[released.pk])).content.decode()
    assert "Refunded at Stripe outside Holdfast" in detail


def test_release_due_filter(client):
    task = delivered_task()
    escrow = Escrow.objects.get(task=task)
    client.force_login(_staff(FINANCE))
    url = reverse(CHANGELIST)
    assert [e.pk for e in client.get(url, {"release_due": "overdue"}).context["cl"].result_list] == []
    Escrow.objects.filter(pk=escrow.pk).update(release_due_at=timezone.now() + timedelta(hours=3))
    assert [e.pk for e in client.get(url, {"release_due": "24h"}).context["cl"].result_list] == [escrow.pk]
    Escrow.objects.filter(pk=escrow.pk).update(release_due_at=timezone.now() - timedelta(hours=3))
    assert [e.pk for e in client.get(url, {"release_due": "overdue"}).context["cl"].result_list] == [escrow.pk]


def test_finance_refunds_in_full(client):
    escrow = fund(accepted_escrow())
    unpaid = accepted_escrow()
    client.force_login(_staff(FINANCE))
    response = _action(client, "refund_in_full", [escrow, unpaid], reason="Tasker no-show")
    body = response.content.decode()
    assert f"Escrow #{escrow.pk}: refunded in full." in body
    assert f"Escrow #{unpaid.pk}: Only an escrow holding the client&#x27;s payment can be refunded." in body
    escrow.refresh_from_db()
    escrow.task.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED and escrow.refunded_amount == Decimal("105.00")
    assert escrow.task.status == Task.Status.CANCELLED
    assert escrow.refunds.get().reason == "Tasker no-show"


def test_refund_needs_a_reason(client):
    escrow = fund(accepted_escrow())
    client.force_login(_staff(FINANCE))
    response = _action(client, "refund_in_full", [escrow], reason="")
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED


def test_finance_refunds_part(client):
    escrow = fund(accepted_escrow())
    client.force_login(_staff(FINANCE))
    response = _action(client, "refund_part", [escrow], amount="30.00", reason="Half the job")
    assert f"Escrow #{escrow.pk}: refund made." in response.content.decode()
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.refunded_amount == Decimal("30.00")
    response = _action(client, "refund_part", [escrow], amount="500", reason="Too much")
    assert "At most 75.00 USD can be refunded" in response.content.decode()


def test_support_cannot_refund(client):
    escrow = fund(accepted_escrow())
    client.force_login(_staff(SUPPORT))
    response = client.get(reverse(CHANGELIST))
    assert "refund_in_full" not in response.content.decode()
    _action(client, "refund_in_full", [escrow], reason="Trying anyway")
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.refunded_amount == Decimal("0.00")
    assert not escrow.refunds.exists()


def test_support_forces_a_release_and_finance_cannot(client):
    escrow = fund(accepted_escrow())
    client.force_login(_staff(FINANCE))
    _action(client, "force_release", [escrow], reason="Finance trying")
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED

    client.force_login(_staff(SUPPORT))
    response = _action(client, "force_release", [escrow], reason="Client unreachable for 60 days")
    assert f"Escrow #{escrow.pk}: released to the tasker." in response.content.decode()
    escrow.refresh_from_db()
    escrow.task.refresh_from_db()
    assert escrow.status == Escrow.Status.RELEASED and escrow.released_to_tasker == Decimal("80.00")
    assert escrow.task.status == Task.Status.COMPLETED
    assert "Client unreachable for 60 days" in escrow.events.get(kind="released").reason


def test_a_release_with_the_longest_reason_the_form_takes_goes_through(client):
    escrow = fund(accepted_escrow())
    client.force_login(_staff(SUPPORT))
    reason = "Client unreachable; photos of the finished shelves on file. " * 9  # 540 characters
    response = _action(client, "force_release", [escrow], reason=reason[:500])
    assert f"Escrow #{escrow.pk}: released to the tasker." in response.content.decode()
    entry = JournalEntry.objects.get(kind=JournalEntry.Kind.ESCROW_RELEASE)
    assert entry.memo.startswith("Released by Support: Client unreachable") and len(entry.memo) == 500


def test_editing_a_fee_policy_publishes_a_new_version(client):
    v1 = fee_policy_active(currency="USD")
    client.force_login(_staff(FINANCE))
    url = reverse("admin:payments_feepolicy_change", args=[v1.pk])
    assert client.get(url).status_code == 200
    form = {
        "client_fee_percent": "6.50",
        "client_fee_fixed": "0.30",
        "client_fee_min": "0.00",
        "client_fee_max": "",
        "commission_percent": "18.00",
        "commission_min": "0.00",
        "commission_max": "",
    }
    response = client.post(url, form)
    assert response.status_code == 302
    v1.refresh_from_db()
    assert v1.client_fee_percent == Decimal("5.00") and not v1.is_active  # its numbers untouched
    v2 = FeePolicy.objects.get(currency="USD", is_active=True)
    assert v2.version == 2 and v2.client_fee_percent == Decimal("6.50") and v2.commission_percent == Decimal("18.00")
    # New escrows are priced with it; the list shows both versions.
    escrow = accepted_escrow()
    assert escrow.fee_policy == v2 and escrow.client_fee == Decimal("6.80")
    body = client.get(reverse("admin:payments_feepolicy_changelist")).content.decode()
    assert "6.50" in body and "5.00" in body

    response = client.post(url, {**form, "commission_percent": "150"})
    assert response.status_code == 200
    assert FeePolicy.objects.filter(currency="USD").count() == 2


def test_fee_policy_editor_is_finance_only(client):
    fee_policy_active(currency="USD")
    client.force_login(_staff(SUPPORT))
    assert client.get(reverse("admin:payments_feepolicy_changelist")).status_code == 403


@pytest.mark.parametrize("amount", ["1e30", "1e999999"])
def test_refund_of_a_huge_amount_is_refused_by_the_form(client, amount):
    escrow = fund(accepted_escrow())
    client.force_login(_staff(FINANCE))
    response = _action(client, "refund_part", [escrow], amount=amount, reason="Typo")
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.refunded_amount == Decimal("0.00")
