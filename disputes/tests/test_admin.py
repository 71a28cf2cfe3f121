"""Support's console and Finance's chargebacks in the back office: every button calls a service."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from disputes.models import Chargeback, Dispute
from disputes.tests.factories import PDF, dispute_opened, finance, support
from payments.models import Escrow
from payments.tests.factories import escrow_awaiting_payment, escrow_delivered, escrow_pay
from processors.interface import EventKind, ProcessorEvent
from processors.registry import event_dispatch
from processors.stripe import gateway

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulated")]


def test_support_finds_assigns_and_rules_from_the_console(client, settings):
    settings.DISPUTE_SECOND_APPROVAL_AMOUNT = Decimal("1000.00")
    escrow = escrow_delivered(amount="100.00")
    dispute = dispute_opened(escrow)
    agent = support()
    client.force_login(agent)

    listing = client.get(reverse("admin:disputes_dispute_changelist") + "?deadline=passed")
    assert listing.status_code == 200 and escrow.task.title not in listing.content.decode()
    listing = client.get(reverse("admin:disputes_dispute_changelist") + "?status=open&assignee=none&amount=medium")
    assert escrow.task.title in listing.content.decode()
    page = client.get(reverse("admin:disputes_dispute_change", args=[dispute.pk])).content.decode()
    assert "Escrow timeline" in page and "105.00 USD" in page and "Rule" in page

    act = reverse("admin:disputes_dispute_act", args=[dispute.pk])
    client.post(act, {"op": "assign"})
    dispute.refresh_from_db()
    assert dispute.assignee == agent and dispute.status == Dispute.Status.UNDER_REVIEW
    refused = client.post(act, {"op": "rule", "outcome": "split", "client_refund": "200", "reason": "x"}, follow=True)
    assert "more than the 105.00 USD" in refused.content.decode()
    client.post(act, {"op": "rule", "outcome": "release", "reason": "Delivered as agreed"})

    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.RELEASED


def test_finance_cannot_rule_and_a_big_ruling_waits_for_a_second_person(client, settings):
    settings.DISPUTE_SECOND_APPROVAL_AMOUNT = Decimal("50.00")
    escrow = escrow_delivered(amount="100.00")
    dispute = dispute_opened(escrow)
    act = reverse("admin:disputes_dispute_act", args=[dispute.pk])
    client.force_login(finance())
    assert client.post(act, {"op": "rule", "outcome": "refund", "reason": "x"}).status_code == 403

    maker, checker = support(), support()
    client.force_login(maker)
    client.post(act, {"op": "rule", "outcome": "refund", "reason": "Nothing delivered"})
    page = client.post(act, {"op": "approve"}, follow=True).content.decode()
    assert "A second staff member must approve" in page
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.DISPUTED
    client.force_login(checker)
    client.post(act, {"op": "approve"})
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.REFUNDED


def test_finance_answers_a_chargeback_with_text_and_a_file_from_the_admin(client):
    escrow = escrow_pay(escrow_awaiting_payment(amount="100.00"), card="pm_card_createDispute")
    reference = gateway.dispute_for_charge(escrow.payment.charge_reference).id
    event_dispatch(
        ProcessorEvent(processor="stripe", event_id="evt_1", kind=EventKind.CHARGEBACK_CREATED, reference=reference)
    )
    cb = Chargeback.objects.get()
    client.force_login(finance())
    page = client.get(reverse("admin:disputes_chargeback_change", args=[cb.pk])).content.decode()
    assert "Answer the bank" in page

    client.post(
        reverse("admin:disputes_chargeback_respond", args=[cb.pk]),
        {
            "uncategorized_text": "winning_evidence",
            "service_documentation": SimpleUploadedFile("proof.pdf", PDF, content_type="application/pdf"),
        },
    )

    cb.refresh_from_db()
    escrow.refresh_from_db()
    assert cb.status == "won" and cb.evidence_submitted_at is not None
    assert escrow.status == Escrow.Status.FUNDED
    assert gateway.dispute_retrieve(reference).evidence["service_documentation"].startswith("file_")
