"""The dispute pages: open from the task page, the dispute page (thread, evidence, settlement,
withdraw), my disputes, downloads for the parties only."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.roles import SUPPORT, staff_groups_sync
from accounts.tests.factories import UserFactory
from disputes.models import Dispute
from disputes.tests.factories import PDF
from payments.models import Escrow
from payments.tests.factories import escrow_delivered, escrow_funded

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulated")]


def _login(client, user):
    client.force_login(user)
    return client


def test_open_a_dispute_from_the_task_page_and_use_the_dispute_page(client):
    escrow = escrow_delivered(amount="100.00")
    _login(client, escrow.tasker)
    task_page = client.get(escrow.task.get_absolute_url())
    open_url = reverse("disputes:dispute_open", args=[escrow.pk])
    assert open_url in task_page.content.decode()

    refused = client.post(open_url, {"reason": "quality", "description": "Bad", "amount_in_question": "999"})
    assert refused.status_code == 400 and "more than the 105.00 USD" in refused.content.decode()
    response = client.post(
        open_url, {"reason": "cancelled", "description": "The client stopped answering."}, follow=True
    )
    dispute = Dispute.objects.get()
    assert response.redirect_chain[-1][0] == reverse("disputes:dispute_detail", args=[dispute.pk])
    page = response.content.decode()
    assert "Cancelled by the other party" in page and "105.00 USD" in page and "can respond until" in page

    client.post(reverse("disputes:dispute_message", args=[dispute.pk]), {"body": "Photos attached."})
    client.post(
        reverse("disputes:dispute_evidence", args=[dispute.pk]),
        {"file": SimpleUploadedFile("work.pdf", PDF, content_type="application/pdf"), "description": "Before/after"},
    )
    bad = client.post(
        reverse("disputes:dispute_evidence", args=[dispute.pk]),
        {"file": SimpleUploadedFile("virus.exe", b"MZ\x90\x00", content_type="application/octet-stream")},
    )
    assert bad.status_code == 400 and "image (PNG, JPEG, GIF, WebP) or a PDF" in bad.content.decode()
    client.post(reverse("disputes:dispute_propose", args=[dispute.pk]), {"tasker_amount": "60.00"})

    page = client.get(reverse("disputes:dispute_detail", args=[dispute.pk])).content.decode()
    assert "Photos attached." in page and "work.pdf" in page and "60.00 USD" in page
    assert "View the dispute" in client.get(escrow.task.get_absolute_url()).content.decode()

    _login(client, escrow.client)
    page = client.get(reverse("disputes:dispute_detail", args=[dispute.pk])).content.decode()
    assert "Accept this proposal" in page
    client.post(reverse("disputes:dispute_accept", args=[dispute.pk]), {"tasker_amount": "60.00"})
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.SPLIT
    listing = client.get(reverse("disputes:my_disputes")).content.decode()
    assert escrow.task.title in listing and "Resolved" in listing


def test_strangers_get_404_for_the_dispute_its_files_and_the_open_form(client):
    escrow = escrow_funded()
    _login(client, escrow.client)
    client.post(reverse("disputes:dispute_open", args=[escrow.pk]), {"reason": "quality", "description": "Bad"})
    dispute = Dispute.objects.get()
    client.post(
        reverse("disputes:dispute_evidence", args=[dispute.pk]),
        {"file": SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf")},
    )
    evidence = dispute.evidence.get()
    download = reverse("disputes:evidence_download", args=[dispute.pk, evidence.pk])
    assert client.get(download).status_code == 200

    _login(client, UserFactory())
    for url in (
        reverse("disputes:dispute_detail", args=[dispute.pk]),
        download,
        reverse("disputes:dispute_open", args=[escrow.pk]),
    ):
        assert client.get(url).status_code == 404
    assert client.post(reverse("disputes:dispute_withdraw", args=[dispute.pk])).status_code == 404
    client.logout()
    assert client.get(download).status_code == 302  # to the log-in page
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN


def test_withdraw_from_the_page(client):
    escrow = escrow_funded()
    _login(client, escrow.client)
    client.post(reverse("disputes:dispute_open", args=[escrow.pk]), {"reason": "quality", "description": "Bad"})
    dispute = Dispute.objects.get()
    page = client.post(reverse("disputes:dispute_withdraw", args=[dispute.pk]), follow=True).content.decode()
    assert "Withdrawn" in page
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED


def test_support_is_pointed_from_my_disputes_to_the_back_office_queue(client):
    """Support's own dispute list is empty; the ones to decide are in the back office, and it says so."""
    staff_groups_sync()
    support = UserFactory(is_staff=True)
    support.groups.add(Group.objects.get(name=SUPPORT))
    queue = reverse("admin:disputes_dispute_changelist")
    assert f'href="{queue}"' in _login(client, support).get(reverse("disputes:my_disputes")).content.decode()
    assert client.get(queue).status_code == 200
    assert f'href="{queue}"' not in _login(client, UserFactory()).get(reverse("disputes:my_disputes")).content.decode()
