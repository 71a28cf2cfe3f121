"""The wallet's "pending as tasker": the net the tasker would receive, not what the escrow holds."""

from decimal import Decimal

import pytest
from django.urls import reverse
from moneyed import Money

from marketplace.tests.factories import OfferFactory, TaskFactory
from payments.escrow import escrow_refund, escrow_release
from payments.fees import release_split
from payments.models import Escrow
from payments.tests.escrow_helpers import accepted_escrow, fund
from wallets.selectors import wallet_balances

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def _funded_escrow(amount: str) -> Escrow:
    offer = OfferFactory(task=TaskFactory(), amount=Money(Decimal(amount), "USD"))
    return fund(accepted_escrow(offer=offer))


def _usd(user):
    return next(b for b in wallet_balances(user=user) if b.currency == "USD")


def test_pending_as_tasker_is_the_net_not_the_client_total(client, api_client):
    escrow = _funded_escrow("75.00")
    assert (escrow.client_total, escrow.tasker_net) == (Decimal("78.75"), Decimal("60.00"))

    assert _usd(escrow.tasker).pending_as_tasker == Decimal("60.00")
    # The client sees what they paid in as held, and nothing pending.
    assert (_usd(escrow.client).held_in_escrow, _usd(escrow.client).pending_as_tasker) == (
        Decimal("78.75"),
        Decimal("0.00"),
    )

    client.force_login(escrow.tasker)
    body = client.get(reverse("wallets:wallet")).content.decode()
    assert "60.00" in body and "78.75" not in body

    api_client.force_authenticate(escrow.tasker)
    (row,) = api_client.get("/api/v1/wallet/").json()["results"]
    assert row["pending_as_tasker"] == "60.00"


def test_pending_after_a_partial_refund_is_what_the_release_pays(stripe_emulator):
    escrow = _funded_escrow("75.00")
    escrow_refund(escrow=escrow, amount=Decimal("30.00"), actor=None, reason="Half the job")
    escrow.refresh_from_db()
    expected = release_split(breakdown=escrow.breakdown, refunded=escrow.refunded_amount).tasker_net
    assert Decimal("0") < expected < Decimal("60.00")
    assert _usd(escrow.tasker).pending_as_tasker == expected

    released = escrow_release(escrow=escrow, actor=None, reason="Approved")
    assert released.released_to_tasker == expected
    row = _usd(escrow.tasker)
    assert (row.pending_as_tasker, row.available) == (Decimal("0.00"), expected)


def test_pending_sums_the_taskers_escrows_and_ignores_unpaid_ones():
    first = _funded_escrow("75.00")
    second = fund(accepted_escrow(offer=OfferFactory(tasker=first.tasker)))  # 100.00 -> net 80.00
    accepted_escrow(offer=OfferFactory(tasker=first.tasker))  # awaiting payment: nothing pending yet
    assert second.tasker_net == Decimal("80.00")
    assert _usd(first.tasker).pending_as_tasker == Decimal("140.00")
