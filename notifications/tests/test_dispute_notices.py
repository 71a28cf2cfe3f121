"""Each step of a dispute tells the parties it concerns, once: never the person who took it, never
anyone else. Chargebacks tell the client and the tasker of the escrow. Real escrows, disputes and
chargebacks on the Stripe emulator."""

import pytest
from django.core import mail

from accounts.tests.factories import UserFactory
from disputes import services
from disputes.events import (
    ChargebackClosed,
    ChargebackOpened,
    DisputeEvidenceAdded,
    DisputeMessagePosted,
    DisputeOpened,
    DisputeRuled,
)
from disputes.models import Chargeback
from disputes.tests.factories import dispute_opened, finance, png, support
from notifications.models import Notification
from notifications.tests.helpers import deliver_again, told
from payments.models import Escrow
from payments.tests.factories import escrow_awaiting_payment, escrow_funded, escrow_pay
from processors.interface import EventKind, ProcessorEvent
from processors.registry import event_dispatch
from processors.stripe import gateway
from wallets.selectors import ledger_invariant_violations

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _world(stripe_emulator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    yield
    assert ledger_invariant_violations() == []


def kinds_for(user) -> list[str]:
    return sorted(user.notifications.values_list("kind", flat=True))


def test_opening_tells_the_other_party_once_and_nobody_else(on_commit, published):
    escrow = escrow_funded(amount="100.00")
    bystander = UserFactory()
    with on_commit():
        dispute = dispute_opened(escrow, by=escrow.client)
    assert told("dispute_opened") == [(escrow.tasker.email, f"A dispute was opened on “{escrow.task.title}”")]
    notification = Notification.objects.get(kind="dispute_opened")
    assert notification.link == f"/disputes/{dispute.pk}/"
    assert "The client disputes 105.00 USD" in notification.body and "respond by" in notification.body
    deliver_again(published, DisputeOpened)
    assert Notification.objects.filter(kind="dispute_opened").count() == 1
    assert [m.to for m in mail.outbox if "dispute was opened" in m.subject] == [[escrow.tasker.email]]
    assert "dispute_opened" not in kinds_for(escrow.client) and not bystander.notifications.exists()


def test_messages_and_files_tell_the_other_party_and_supports_tell_both(on_commit, published, client):
    escrow = escrow_funded()
    dispute = dispute_opened(escrow, by=escrow.client)
    with on_commit():
        services.dispute_message_post(dispute=dispute, actor=escrow.tasker, body="The shelves are level, see photo.")
    [notification] = Notification.objects.filter(kind="dispute_message")
    assert notification.recipient == escrow.client
    assert notification.title == f"The tasker wrote in the dispute on “{escrow.task.title}”"
    assert notification.body == "The shelves are level, see photo."
    deliver_again(published, DisputeMessagePosted)
    assert Notification.objects.filter(kind="dispute_message").count() == 1

    with on_commit():
        services.dispute_evidence_add(dispute=dispute, actor=escrow.tasker, upload=png("level.png"))
    assert [e for e, _ in told("dispute_evidence")] == [escrow.client.email]
    assert "level.png" in Notification.objects.get(kind="dispute_evidence").body
    deliver_again(published, DisputeEvidenceAdded)
    assert Notification.objects.filter(kind="dispute_evidence").count() == 1

    staff = support()
    with on_commit():
        services.dispute_message_post(dispute=dispute, actor=staff, body="Please both send a photo of the wall.")
    from_support = Notification.objects.filter(kind="dispute_message", title__startswith="Support wrote")
    assert sorted(n.recipient_id for n in from_support) == sorted([escrow.client_id, escrow.tasker_id])
    assert not staff.notifications.exists()
    # The tasker, author of the first message, heard only of Support's.
    assert escrow.tasker.notifications.filter(kind="dispute_message").count() == 1

    # The dispute page's thread is a live part on the dispute's topic: a refresh shows the message.
    client.force_login(escrow.client)
    page = client.get(f"/disputes/{dispute.pk}/").content.decode()
    marker = f'<ol class="thread" data-live-part="dispute-{dispute.pk}-thread" data-live-topics="dispute:{dispute.pk}">'
    assert marker in page and "Please both send a photo of the wall." in page.split(marker)[1].split("</ol>")[0]


def test_a_proposal_tells_the_other_party_and_the_ruling_tells_both_with_the_amounts(on_commit, published):
    escrow = escrow_funded(amount="100.00")  # 105.00 held
    dispute = dispute_opened(escrow, by=escrow.client)
    with on_commit():
        services.dispute_settlement_propose(dispute=dispute, actor=escrow.tasker, tasker_amount="70.00")
    [notification] = Notification.objects.filter(kind="dispute_settlement")
    assert notification.recipient == escrow.client
    assert notification.title == f"The tasker proposes a settlement for “{escrow.task.title}”"
    assert notification.body.startswith("70.00 USD to the tasker's side")

    with on_commit():
        services.dispute_escalate(dispute=dispute, actor=escrow.client)
    assert sorted(e for e, _ in told("dispute_escalated")) == sorted([escrow.client.email, escrow.tasker.email])

    with on_commit():
        services.dispute_rule(
            dispute=dispute, actor=support(), outcome="split", reason="Half the shelves", client_refund="40.00"
        )
    ruled = {n.recipient_id: n for n in Notification.objects.filter(kind="dispute_ruled")}
    assert set(ruled) == {escrow.client_id, escrow.tasker_id}
    assert ruled[escrow.client_id].body == (
        "Support decided: split between them. 40.00 USD is refunded to you. The rest is released to the tasker."
    )
    assert "40.00 USD goes back to the client. The rest is released to your wallet." in ruled[escrow.tasker_id].body
    deliver_again(published, DisputeRuled)
    assert Notification.objects.filter(kind="dispute_ruled").count() == 2


def test_withdrawing_tells_the_other_party_only(on_commit):
    escrow = escrow_funded()
    dispute = dispute_opened(escrow, by=escrow.tasker, reason="other")
    with on_commit():
        services.dispute_withdraw(dispute=dispute, actor=escrow.tasker)
    assert told("dispute_withdrawn") == [(escrow.client.email, f"The dispute on “{escrow.task.title}” was withdrawn")]


def _chargeback(escrow: Escrow, kinds, event: str) -> Chargeback:
    reference = gateway.dispute_for_charge(escrow.payment.charge_reference).id
    for i, kind in enumerate(kinds):
        event_dispatch(ProcessorEvent(processor="stripe", event_id=f"{event}_{i}", kind=kind, reference=reference))
    return Chargeback.objects.get(reference=reference)


def test_a_chargeback_tells_the_client_and_the_tasker_when_opened_and_when_decided(on_commit, published):
    escrow = escrow_pay(escrow_awaiting_payment(amount="100.00"), card="pm_card_createDispute")
    kinds = list(EventKind.CHARGEBACK_KINDS)
    with on_commit():
        cb = _chargeback(escrow, kinds, "evt_cb")
        _chargeback(escrow, list(reversed(kinds)), "evt_cb_again")  # duplicated and reordered
    opened = {n.recipient_id: n.title for n in Notification.objects.filter(kind="chargeback_opened")}
    assert opened == {
        escrow.client_id: f"Your bank disputed your payment for “{escrow.task.title}”",
        escrow.tasker_id: f"The client's bank disputed the payment for “{escrow.task.title}”",
    }
    deliver_again(published, ChargebackOpened)
    assert Notification.objects.filter(kind="chargeback_opened").count() == 2

    staff = finance()
    with on_commit():
        services.chargeback_accept(chargeback=cb, actor=staff)
    closed = {n.recipient_id: n.body for n in Notification.objects.filter(kind="chargeback_closed")}
    assert closed[escrow.client_id] == "The bank returned the payment of 105.00 USD to you."
    assert closed[escrow.tasker_id] == "The bank returned the payment of 105.00 USD to the client."
    deliver_again(published, ChargebackClosed)
    assert Notification.objects.filter(kind="chargeback_closed").count() == 2
    assert not staff.notifications.exists()
