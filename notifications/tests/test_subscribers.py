"""Each domain event tells the right people, once, even when the event is delivered twice."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import TaskerFactory
from core.errors import ApplicationError
from disputes import services as dispute_services
from disputes.models import Dispute
from marketplace import services as market
from marketplace.events import OfferAccepted, OfferSubmitted
from marketplace.tests.factories import OfferFactory, TaskFactory
from notifications import registry
from notifications.models import Notification
from notifications.services import event_notify
from notifications.subscribers import escrows_release_soon_publish
from notifications.tasks import event_deliver
from payments import escrow as services
from payments.events import EscrowFunded
from payments.models import Escrow
from payments.tests.factories import escrow_awaiting_payment, escrow_delivered, escrow_funded

pytestmark = pytest.mark.django_db


def told(kind: str) -> list[tuple[str, str]]:
    """(recipient email, title) of every notification of ``kind``."""
    return sorted(
        Notification.objects.filter(kind=kind).values_list("recipient__email", "title").order_by("recipient__email")
    )


def deliver_again(published, event_class) -> None:
    """The delivery task runs again for each such event, as after a redelivered Celery message."""
    matching = [e for e in published if type(e) is event_class]
    assert matching, f"no {event_class.__name__} was published"
    for event in matching:
        assert event_deliver.apply(args=[registry.event_encode(event)]).get() == 0


def test_a_new_offer_tells_the_client_once(on_commit, published):
    task = TaskFactory(title="Paint the fence")
    with on_commit():
        offer = market.offer_submit(task=task, tasker=TaskerFactory(), amount="90", currency="USD")
    assert told("offer_received") == [(task.client.email, "New offer on “Paint the fence”")]
    notification = Notification.objects.get(kind="offer_received")
    assert "90.00 USD" in notification.body and notification.link == task.get_absolute_url()

    deliver_again(published, OfferSubmitted)
    assert Notification.objects.filter(kind="offer_received").count() == 1
    assert offer.tasker.notifications.count() == 0  # the bidder is not told of their own bid


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Done it many times.", "90.00 USD: “Done it many times.” Compare the offers"),
        ("Can start Monday", "90.00 USD: “Can start Monday”. Compare the offers"),
        ("", "90.00 USD. Compare the offers"),
    ],
)
def test_a_new_offer_notice_ends_its_sentence_once(on_commit, message, expected):
    with on_commit():
        market.offer_submit(task=TaskFactory(), tasker=TaskerFactory(), amount="90", currency="USD", message=message)
    body = Notification.objects.get(kind="offer_received").body
    assert expected in body and ".”." not in body


def test_accepting_an_offer_tells_the_tasker(on_commit, published):
    task = TaskFactory(title="Fix a tap")
    offer = OfferFactory(task=task)
    with on_commit():
        market.offer_accept(offer=offer, actor=task.client)
    assert told("offer_accepted") == [(offer.tasker.email, "Your offer on “Fix a tap” was accepted")]
    deliver_again(published, OfferAccepted)
    assert Notification.objects.filter(kind="offer_accepted").count() == 1
    assert not task.client.notifications.filter(kind="offer_accepted").exists()


def test_funding_tells_both_parties_and_emails_each_once(stripe_emulator, on_commit, published):
    with on_commit():
        escrow = escrow_funded(amount="100.00")
    assert told("escrow_funded") == sorted(
        [
            (escrow.client.email, f"Payment held in escrow for “{escrow.task.title}”"),
            (escrow.tasker.email, f"You can start “{escrow.task.title}”"),
        ]
    )
    funded_mail = [m for m in mail.outbox if "escrow" in m.subject or "start" in m.subject]
    assert sorted(m.to[0] for m in funded_mail) == sorted([escrow.client.email, escrow.tasker.email])
    assert all(m.alternatives[0].mimetype == "text/html" for m in funded_mail)  # text and HTML
    assert "105.00 USD" in [m for m in funded_mail if m.to == [escrow.client.email]][0].body

    sent = len(mail.outbox)
    deliver_again(published, EscrowFunded)  # the same event again: nobody told or emailed twice
    assert Notification.objects.filter(kind="escrow_funded").count() == 2
    assert len(mail.outbox) == sent
    assert Notification.objects.filter(kind="escrow_funded", email_status="sent").count() == 2


def test_a_declined_card_tells_the_client(stripe_emulator, on_commit):
    escrow = escrow_awaiting_payment()
    with on_commit(), pytest.raises(ApplicationError):
        services.escrow_payment_confirm(
            escrow=escrow, actor=escrow.client, payment_method="pm_card_chargeDeclined", return_url="http://testserver/"
        )
    [(email, title)] = told("payment_failed")
    assert email == escrow.client.email and "did not go through" in title
    notification = Notification.objects.get(kind="payment_failed")
    assert notification.link == f"/payments/escrows/{escrow.pk}/checkout/"
    assert "declined" in notification.body.lower()


def test_delivery_changes_and_redelivery_each_tell_the_other_side(stripe_emulator, on_commit):
    escrow = escrow_funded()
    with on_commit():
        market.task_mark_delivered(task=escrow.task, actor=escrow.tasker)
    assert [e for e, _ in told("work_delivered")] == [escrow.client.email]
    with on_commit():
        market.task_request_changes(task=escrow.task, actor=escrow.client, reason="The shelf is crooked.")
    [(email, _)] = told("changes_requested")
    assert email == escrow.tasker.email
    assert "The shelf is crooked." in Notification.objects.get(kind="changes_requested").body
    with on_commit():
        market.task_mark_delivered(task=escrow.task, actor=escrow.tasker)
    assert Notification.objects.filter(kind="work_delivered", recipient=escrow.client).count() == 2


def test_release_tells_the_tasker_what_reached_the_wallet(stripe_emulator, on_commit):
    escrow = escrow_delivered(amount="100.00")
    with on_commit():
        services.escrow_approve(escrow=escrow, actor=escrow.client)
    assert dict(told("escrow_released"))[escrow.tasker.email] == "80.00 USD paid into your wallet"
    assert escrow.client.email in dict(told("escrow_released"))
    assert Notification.objects.get(kind="escrow_released", recipient=escrow.tasker).link == "/wallet/"


def test_a_refund_tells_both_parties(stripe_emulator, on_commit):
    escrow = escrow_funded(amount="100.00")
    with on_commit():  # the work has started: cancelling asks the tasker to agree
        services.escrow_cancel(escrow=escrow, actor=escrow.client, reason="Changed my mind")
    assert told("dispute_opened") == [(escrow.tasker.email, f"The client asks to cancel “{escrow.task.title}”")]
    assert "refunded only if you agree" in Notification.objects.get(kind="dispute_opened").body
    with on_commit():
        dispute_services.dispute_settlement_accept(dispute=Dispute.objects.get(escrow=escrow), actor=escrow.tasker)
    ruled = Notification.objects.get(kind="dispute_ruled", recipient=escrow.client)
    assert ruled.body == "Settled by agreement: refunded to the client. 105.00 USD is refunded to you."
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED
    refunded = dict(told("escrow_refunded"))
    assert refunded[escrow.client.email] == f"105.00 USD refunded for “{escrow.task.title}”"
    assert escrow.tasker.email in refunded


def test_an_unpaid_escrow_cancelled_tells_both(stripe_emulator, on_commit):
    escrow = escrow_awaiting_payment()
    with on_commit():
        services.escrow_cancel(escrow=escrow, actor=escrow.client, reason="")
    assert sorted(e for e, _ in told("escrow_cancelled")) == sorted([escrow.client.email, escrow.tasker.email])


def test_the_client_is_warned_a_day_before_the_automatic_release_once(stripe_emulator, on_commit):
    escrow = escrow_delivered()
    Escrow.objects.filter(pk=escrow.pk).update(release_due_at=timezone.now() + timedelta(hours=23))
    later = escrow_delivered()  # due in 7 days: not yet
    with on_commit():
        assert escrows_release_soon_publish() == 1
    [(email, title)] = told("release_soon")
    assert email == escrow.client.email and "less than a day" in title
    with on_commit():
        assert escrows_release_soon_publish() == 0  # the next beat run tells nobody again
    assert Notification.objects.filter(kind="release_soon").count() == 1
    assert not later.client.notifications.filter(kind="release_soon").exists()


def test_two_deliveries_of_one_event_at_once_notify_once(stripe_emulator, on_commit):
    escrow = escrow_funded()
    Notification.objects.all().delete()
    mail.outbox.clear()
    event = EscrowFunded(escrow_id=escrow.pk, task_id=escrow.task_id)
    with on_commit():
        first = event_notify(event=event)
        second = event_notify(event=event)
    assert len(first.created) == 2 and second.created == [] and second.duplicates == 2
    assert len(mail.outbox) == 2
