"""The tasker hears of each step of a payout, once, in the app and by email; Finance and other
users hear nothing. Real payouts on the Stripe emulator (over HTTP, through the stripe SDK)."""

import pytest
from django.core import mail

from accounts.tests.factories import TaskerFactory
from notifications.models import Notification
from notifications.tests.helpers import deliver_again, told
from payouts import services
from payouts.events import PayoutAccountUpdated, PayoutFailed, PayoutPaid, PayoutRequested
from payouts.tests.helpers import (
    bank_answers,
    connect_events,
    deliver,
    earn,
    finance_user,
    onboard,
    platform_funds_available,
    tasker_earning,
)
from wallets.selectors import ledger_invariant_violations

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _ledger_holds():
    yield
    assert ledger_invariant_violations() == []


def test_a_payout_tells_the_tasker_requested_on_its_way_and_paid_once(stripe_emulator, on_commit, published, client):
    tasker = tasker_earning("100.00")  # 80.00 in the wallet
    platform_funds_available(stripe_emulator)
    finance = finance_user()
    bystander = TaskerFactory()

    with on_commit():
        payout = services.payout_request(tasker=tasker, amount="50.00", currency="USD")
    [(email, title)] = told("payout_requested")
    assert email == tasker.email and title == "Payout of 50.00 USD requested"
    requested = Notification.objects.get(kind="payout_requested")
    assert "Finance team checks it first" in requested.body and requested.link == f"/payouts/{payout.pk}/"
    assert [m.to for m in mail.outbox if m.subject == title] == [[tasker.email]]

    with on_commit():
        services.payout_approve(payout=payout, actor=finance)
    payout.refresh_from_db()
    assert told("payout_in_transit") == [(tasker.email, f"{payout.net:.2f} USD is on its way to your bank")]

    bank_answers(stripe_emulator)
    with on_commit():
        deliver(connect_events(stripe_emulator, "payout.paid", "payout.updated"))
    assert told("payout_paid") == [(tasker.email, f"{payout.net:.2f} USD paid to your bank")]

    sent = len(mail.outbox)
    deliver_again(published, PayoutPaid)
    deliver_again(published, PayoutRequested)
    assert Notification.objects.filter(kind__startswith="payout_").count() == 3
    assert len(mail.outbox) == sent
    assert not finance.notifications.exists() and not bystander.notifications.exists()

    # The pages the tasker may have open reload their parts on these events' topics.
    client.force_login(tasker)
    get_paid = client.get("/payouts/").content.decode()
    assert 'data-live-part="payout-history" data-live-topics="payouts"' in get_paid
    assert 'data-live-topics="payouts wallet"' in get_paid  # what is available to pay out
    detail = client.get(f"/payouts/{payout.pk}/").content.decode()
    assert f'data-live-part="payout-{payout.pk}" data-live-topics="payout:{payout.pk}"' in detail


def test_a_failed_payout_gives_the_banks_reason_and_asks_to_fix_the_bank_details(
    stripe_emulator, on_commit, published, settings
):
    settings.PAYOUT_FIRST_NEEDS_APPROVAL = False
    tasker = tasker_earning("100.00", bank="btok_us_verified_noAccount")
    platform_funds_available(stripe_emulator)
    with on_commit():
        services.payout_request(tasker=tasker, amount="80.00", currency="USD")
    requested = Notification.objects.get(kind="payout_requested")
    assert "Finance" not in requested.body

    bank_answers(stripe_emulator)
    events = connect_events(stripe_emulator, "payout.failed")
    with on_commit():
        deliver(events)
        deliver(events)  # the webhook twice
    deliver_again(published, PayoutFailed)
    [(email, title)] = told("payout_failed")
    assert email == tasker.email and title == "Your payout of 80.00 USD failed"
    body = Notification.objects.get(kind="payout_failed").body
    assert "No bank account could be located" in body
    assert "back in your wallet" in body and "fix your bank details" in body
    failed_mail = [m for m in mail.outbox if m.subject == title]
    assert len(failed_mail) == 1 and "fix your bank details" in failed_mail[0].body


def test_finance_refusing_tells_the_tasker_but_cancelling_ones_own_does_not(stripe_emulator, on_commit):
    tasker = tasker_earning("100.00")
    finance = finance_user()
    with on_commit():
        refused = services.payout_request(tasker=tasker, amount="30.00", currency="USD")
        mine = services.payout_request(tasker=tasker, amount="20.00", currency="USD")
    with on_commit():
        services.payout_cancel(payout=refused, actor=finance, reason="We could not verify this payout.")
        services.payout_cancel(payout=mine, actor=tasker)
    [notification] = Notification.objects.filter(kind="payout_cancelled")
    assert notification.recipient == tasker and notification.link == f"/payouts/{refused.pk}/"
    assert notification.title == "Your payout of 30.00 USD was not sent"
    assert "We could not verify this payout." in notification.body and "back in your wallet" in notification.body


def test_the_payout_account_being_ready_is_told_once(stripe_emulator, on_commit, published):
    tasker = TaskerFactory()
    earn(tasker, "100.00")
    with on_commit():
        account = onboard(tasker)
    assert account.can_receive_payouts
    assert told("payout_account") == [(tasker.email, "You can be paid out now")]
    deliver_again(published, PayoutAccountUpdated)
    with on_commit():
        services.payout_account_sync(reference=account.reference)  # nothing changed: nothing said
    assert Notification.objects.filter(kind="payout_account").count() == 1


def test_stripe_asking_for_new_details_is_told_once_per_list(on_commit):
    from notifications.services import event_notify

    tasker = TaskerFactory()
    event = PayoutAccountUpdated(
        tasker_id=tasker.pk,
        account_reference="acct_1",
        status="restricted",
        requirements_due=("individual.verification.document",),
        became_enabled=False,
    )
    with on_commit():
        assert len(event_notify(event=event).created) == 1
        assert event_notify(event=event).created == []
    notification = Notification.objects.get(kind="payout_account")
    assert notification.title == "Stripe needs more details to pay you out" and notification.link == "/payouts/"
    assert "A photo of your ID document" in notification.body
    done = PayoutAccountUpdated(
        tasker_id=tasker.pk, account_reference="acct_1", status="restricted", requirements_due=(), became_enabled=False
    )
    assert event_notify(event=done).created == []  # nothing due any more: nothing to ask
    assert Notification.objects.filter(kind="payout_account").count() == 1


def test_a_payout_waiting_for_card_funds_is_told_once_however_often_it_is_tried(stripe_emulator, on_commit, settings):
    settings.PAYOUT_FIRST_NEEDS_APPROVAL = False
    tasker = tasker_earning("100.00")  # the card charge is not available at Stripe for two days
    with on_commit():
        payout = services.payout_request(tasker=tasker, amount="40.00", currency="USD")
    with on_commit():
        services.payout_execute(payout_id=payout.pk)  # beat tries again too early
    [(email, title)] = told("payout_waiting")
    assert email == tasker.email and title == "Your payout of 40.00 USD is waiting"
    assert "nothing is needed from you" in Notification.objects.get(kind="payout_waiting").body
