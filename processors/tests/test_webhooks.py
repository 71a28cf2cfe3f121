"""The webhook endpoint: a signed body that is not a Stripe event is refused and stores nothing."""

import hashlib
import hmac
import time

import pytest
from djstripe.models import Event, WebhookEndpoint, WebhookEventTrigger

from processors.stripe import gateway as stripe_gateway
from processors.stripe.setup import stripe_setup


@pytest.fixture
def platform_endpoint(db, stripe_emulator):
    stripe_setup(site_url="http://testserver")
    return WebhookEndpoint.objects.get(metadata__holdfast_role="platform")


def _post_signed_body(client, endpoint, body: str):
    timestamp = int(time.time())
    mac = hmac.new(endpoint.secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return client.post(
        f"/stripe/webhook/{endpoint.djstripe_uuid}/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={mac}",
    )


@pytest.mark.parametrize(
    "body",
    ['{"id": "evt_1", "type":', "[]", '[{"id": "evt_1"}]', "", "null", "42", '"evt_1"', "{}"],
    ids=["bad_json", "empty_array", "array", "empty", "null", "number", "string", "object_without_event_fields"],
)
def test_signed_body_that_is_not_an_event_is_refused_and_stores_nothing(client, platform_endpoint, body):
    response = _post_signed_body(client, platform_endpoint, body)
    assert response.status_code == 400
    assert WebhookEventTrigger.objects.count() == 0
    assert Event.objects.count() == 0


def test_a_signed_event_for_a_payment_stripe_does_not_know_is_logged_once_and_finishes(
    client, platform_endpoint, caplog, django_capture_on_commit_callbacks
):
    """Stripe answers 404 for the PaymentIntent: no money moves, the task ends (no retry, no
    traceback), and one warning says why."""
    import json

    from payments.models import Escrow

    body = json.dumps(
        {
            "id": "evt_unknown_pi",
            "object": "event",
            "type": "payment_intent.succeeded",
            "livemode": False,
            "created": int(time.time()),
            "api_version": "2026-08-26.dahlia",
            "data": {"object": {"id": "pi_nobody_knows", "object": "payment_intent", "metadata": {}}},
        }
    )
    caplog.set_level("WARNING")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_signed_body(client, platform_endpoint, body)

    assert response.status_code == 200
    warnings = [r for r in caplog.records if r.name == "processors.tasks"]
    assert [r.levelname for r in warnings] == ["WARNING"]
    assert not any(r.exc_info for r in caplog.records if r.levelname in ("WARNING", "ERROR"))
    assert Escrow.objects.filter(funded_at__isnull=False).count() == 0


# --- The request only verifies, stores and queues ---------------------------------------------


def _event_body(event_id: str, event_type: str, obj: dict, **extra) -> str:
    import json

    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "livemode": False,
            "created": int(time.time()),
            "api_version": "2026-08-26.dahlia",
            "data": {"object": obj},
            **extra,
        }
    )


def _plain(stripe_object) -> dict:
    import json

    return json.loads(str(stripe_object))


@pytest.fixture
def paid_escrow(platform_endpoint, stripe_emulator):
    """An escrow whose card payment went through at Stripe; its webhook has not come yet."""
    from payments import escrow as escrow_services
    from payments.tests.factories import escrow_awaiting_payment

    escrow = escrow_awaiting_payment()
    escrow_services.escrow_payment_confirm(
        escrow=escrow, actor=escrow.client, payment_method="pm_card_visa", return_url="http://testserver/"
    )
    escrow.refresh_from_db()
    assert escrow.funded_at is None
    return escrow


def test_a_payment_webhook_is_answered_without_calling_stripe_and_funds_the_escrow_in_its_task(
    client, platform_endpoint, paid_escrow, stripe_emulator, django_capture_on_commit_callbacks
):
    from payments.models import Escrow
    from processors.models import WebhookEvent
    from processors.stripe import gateway

    pi = gateway.payment_intent_retrieve(paid_escrow.payment.reference)
    body = _event_body("evt_paid_1", "payment_intent.succeeded", _plain(pi))
    calls_before = len(stripe_emulator.api_requests)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = _post_signed_body(client, platform_endpoint, body)

    assert response.status_code == 200
    assert list(stripe_emulator.api_requests)[calls_before:] == []  # nothing read from Stripe
    assert Escrow.objects.get(pk=paid_escrow.pk).funded_at is None  # not acted on in the request
    assert WebhookEvent.objects.get(event_id="evt_paid_1").processed_at is None
    assert len(queued) == 1

    queued[0]()  # the Celery task

    assert Escrow.objects.get(pk=paid_escrow.pk).funded_at is not None
    assert WebhookEvent.objects.get(event_id="evt_paid_1").processed_at is not None
    assert len(stripe_emulator.api_requests) > calls_before  # the task read the payment


def test_duplicate_deliveries_are_stored_once_and_fund_once(
    client, platform_endpoint, paid_escrow, django_capture_on_commit_callbacks
):
    from payments.models import Escrow, EscrowEvent
    from processors.models import WebhookEvent
    from processors.stripe import gateway
    from wallets.models import JournalEntry
    from wallets.selectors import ledger_invariant_violations

    pi = gateway.payment_intent_retrieve(paid_escrow.payment.reference)
    body = _event_body("evt_paid_twice", "payment_intent.succeeded", _plain(pi))
    entries_before = JournalEntry.objects.count()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert _post_signed_body(client, platform_endpoint, body).status_code == 200

    stored = WebhookEvent.objects.get(event_id="evt_paid_twice")
    assert stored.deliveries == 3 and stored.processed_at is not None
    escrow = Escrow.objects.get(pk=paid_escrow.pk)
    assert escrow.status == Escrow.Status.FUNDED
    assert escrow.events.filter(kind=EscrowEvent.Kind.FUNDED).count() == 1
    assert JournalEntry.objects.count() == entries_before + 1
    assert ledger_invariant_violations() == []


def test_a_delivery_of_an_event_not_processed_yet_queues_it_again(
    client, platform_endpoint, paid_escrow, django_capture_on_commit_callbacks
):
    """Its first message was lost (a broker that went away): Stripe's next delivery still funds."""
    from payments.models import Escrow
    from processors.stripe import gateway

    pi = gateway.payment_intent_retrieve(paid_escrow.payment.reference)
    body = _event_body("evt_lost_message", "payment_intent.succeeded", _plain(pi))
    with django_capture_on_commit_callbacks(execute=False):
        assert _post_signed_body(client, platform_endpoint, body).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_signed_body(client, platform_endpoint, body).status_code == 200

    assert Escrow.objects.get(pk=paid_escrow.pk).funded_at is not None


def test_an_update_of_a_customer_stripe_does_not_know_is_acknowledged_and_logged(
    client, platform_endpoint, caplog, django_capture_on_commit_callbacks
):
    from processors.models import WebhookEvent

    body = _event_body(
        "evt_unknown_customer",
        "customer.updated",
        {"id": "cus_nobody_knows", "object": "customer", "email": "x@example.com", "metadata": {}},
    )
    caplog.set_level("WARNING")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_signed_body(client, platform_endpoint, body)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get(event_id="evt_unknown_customer")
    assert stored.processed_at is not None
    assert "not mirrored" in stored.outcome
    assert any(r.levelname == "WARNING" and "evt_unknown_customer" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records if r.levelname in ("WARNING", "ERROR"))


def test_the_webhook_request_runs_one_sql_statement(
    client, platform_endpoint, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    body = _event_body("evt_count_1", "customer.updated", {"id": "cus_1", "object": "customer"})
    _post_signed_body(client, platform_endpoint, _event_body("evt_warm", "balance.available", {}))  # secret read
    with django_capture_on_commit_callbacks(execute=False), django_assert_max_num_queries(1):
        assert _post_signed_body(client, platform_endpoint, body).status_code == 200


def test_a_connect_event_is_stored_with_its_account(client, db, stripe_emulator, django_capture_on_commit_callbacks):
    from djstripe.models import Event

    from processors.models import WebhookEvent

    stripe_setup(site_url="http://testserver")
    connect = WebhookEndpoint.objects.get(metadata__holdfast_role="connect")
    account = stripe_gateway.connected_account_create(user_id=1, email="t@example.com")
    body = _event_body("evt_connect_1", "account.updated", _plain(account), account=account.id)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_signed_body(client, connect, body).status_code == 200

    assert WebhookEvent.objects.get(event_id="evt_connect_1").account == account.id
    assert Event.objects.get(id="evt_connect_1").djstripe_owner_account_id == account.id


def test_staff_see_the_stored_events_in_the_back_office(admin_client, client, platform_endpoint):
    _post_signed_body(client, platform_endpoint, _event_body("evt_admin_1", "balance.available", {}))
    response = admin_client.get("/admin/processors/webhookevent/?q=evt_admin_1")
    assert response.status_code == 200 and "evt_admin_1" in response.content.decode()
