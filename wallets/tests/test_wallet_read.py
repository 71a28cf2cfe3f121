"""The wallet API's read: what is available, held and pending, in two SQL statements."""

import pytest

from payments.tests.escrow_helpers import accepted_escrow, fund

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def test_the_wallet_read_is_two_statements_and_shows_held_and_pending(api_client, django_assert_max_num_queries):
    escrow = fund(accepted_escrow())

    api_client.force_authenticate(escrow.client)
    with django_assert_max_num_queries(2):  # the ledger accounts; the escrows pending as tasker
        client_view = api_client.get("/api/v1/wallet/").json()["results"]
    usd = next(row for row in client_view if row["currency"] == "USD")
    assert usd["held_in_escrow"] == f"{escrow.client_total:.2f}" and usd["available"] == "0.00"

    api_client.force_authenticate(escrow.tasker)
    with django_assert_max_num_queries(2):
        tasker_view = api_client.get("/api/v1/wallet/").json()["results"]
    usd = next(row for row in tasker_view if row["currency"] == "USD")
    assert usd["pending_as_tasker"] == f"{escrow.tasker_net:.2f}" and usd["held_in_escrow"] == "0.00"
