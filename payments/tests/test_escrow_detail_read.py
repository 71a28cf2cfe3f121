"""The escrow API's detail read: one SQL statement, and field for field what the serializer says."""

import json

import pytest

from accounts.tests.factories import ClientFactory
from marketplace import services as market
from payments import selectors
from payments.api.serializers import EscrowDetailOutputSerializer, escrow_detail_data
from payments.models import Escrow
from payments.tests.escrow_helpers import accepted_escrow, escrow_for_task, fund
from processors.stripe import gateway

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def _with_a_varied_timeline() -> Escrow:
    """Declined once (the client's business), paid, delivered, sent back with a reason, delivered."""
    from payments import escrow as services

    escrow = accepted_escrow()
    with pytest.raises(gateway.PaymentError):
        services.escrow_payment_confirm(
            escrow=escrow, actor=escrow.client, payment_method="pm_card_chargeDeclined", return_url="http://testserver/"
        )
    escrow = fund(escrow)
    market.task_mark_delivered(task=escrow.task, actor=escrow.tasker)
    task = escrow.task
    task.refresh_from_db()
    market.task_request_changes(task=task, actor=task.client, reason="The shelf is crooked — “please” fix it.")
    market.task_mark_delivered(task=task, actor=escrow.tasker)
    return escrow_for_task(task)


@pytest.mark.parametrize("role", ["client", "tasker"])
def test_the_detail_read_says_what_the_serializer_says(api_client, role):
    escrow = _with_a_varied_timeline()
    user = escrow.client if role == "client" else escrow.tasker

    expected = EscrowDetailOutputSerializer(
        selectors.escrow_get_for_party(escrow_id=escrow.pk, user=user), context={"user": user}
    ).data
    fast = escrow_detail_data(selectors.escrow_detail_get_for_party(escrow_id=escrow.pk, user=user))
    assert json.loads(json.dumps(fast)) == json.loads(json.dumps(expected))
    kinds = [event["kind"] for event in fast["timeline"]]
    assert ("payment_failed" in kinds) is (role == "client")  # a decline is the client's business
    assert "changes_requested" in kinds

    api_client.force_authenticate(user)
    assert api_client.get(f"/api/v1/escrows/{escrow.pk}/").json() == json.loads(json.dumps(expected))


def test_the_detail_read_is_one_statement_and_still_a_404_for_anyone_else(api_client, django_assert_max_num_queries):
    escrow = _with_a_varied_timeline()
    api_client.force_authenticate(escrow.tasker)
    with django_assert_max_num_queries(1):
        assert api_client.get(f"/api/v1/escrows/{escrow.pk}/").status_code == 200

    api_client.force_authenticate(ClientFactory())
    response = api_client.get(f"/api/v1/escrows/{escrow.pk}/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "escrow_not_found"
    assert api_client.get("/api/v1/escrows/999999999/").status_code == 404
