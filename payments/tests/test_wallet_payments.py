"""A paying client finds their payments from the wallet: they sit in escrows, not in the wallet's statement."""

import pytest
from django.urls import reverse

from marketplace.tests.factories import TaskFactory
from payments.tests.escrow_helpers import accepted_escrow, fund

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def test_the_clients_wallet_lists_their_payments_with_status_and_task(client):
    paid = fund(accepted_escrow())
    unpaid = accepted_escrow(task=TaskFactory(client=paid.client))
    other_clients = accepted_escrow()
    client.force_login(paid.client)
    response = client.get(reverse("wallets:wallet"))
    body = response.content.decode()
    assert "Your payments" in body
    assert f'href="{paid.task.get_absolute_url()}"' in body and paid.task.title in body
    assert "105.00" in body and "Funded" in body
    assert unpaid.task.title in body and "Awaiting payment" in body
    assert other_clients.task.title not in body
    # The statement is empty (the money went into the escrow) and says where the payments are.
    assert "No transactions." in body and 'href="#your-payments"' in body


def test_a_tasker_without_payments_sees_no_payments_section(client):
    escrow = fund(accepted_escrow())
    client.force_login(escrow.tasker)
    body = client.get(reverse("wallets:wallet")).content.decode()
    assert "Your payments" not in body
