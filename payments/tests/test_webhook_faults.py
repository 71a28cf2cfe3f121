"""Stripe's webhooks misbehaving: dropped, doubled, swapped, late (``stripe_emulator.faults``),
delivered by the emulator over HTTP to the running app (signature checked, stored, processed by
the webhook task). Whatever arrives, and in whatever order, an escrow is funded and a refund
settled exactly once; what never arrives is found by the repair jobs (run with no waiting time)."""

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest

from core.errors import ApplicationError
from payments import escrow as services
from payments.models import Escrow, EscrowEvent, EscrowRefund
from payments.selectors import escrow_payment_error
from payments.tests.factories import escrow_awaiting_payment
from payments.tests.fault_helpers import (  # noqa: F401  (quick_retries: a fixture)
    inject,
    quick_retries,
    stored,
    times_outlasting,
)
from processors.interface import PaymentError
from processors.models import WebhookEvent
from processors.stripe.setup import stripe_setup
from wallets.models import JournalEntry
from wallets.selectors import ledger_invariant_violations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("quick_retries")]


@pytest.fixture
def webhooks_to_the_app(stripe_emulator, live_server):
    """The emulator delivers its events to the running app's two webhook endpoints."""
    stripe_setup(site_url=live_server.url)
    yield stripe_emulator
    assert ledger_invariant_violations() == []


def _pay(escrow, card="pm_card_visa"):
    with contextlib.suppress(PaymentError):
        services.escrow_payment_confirm(escrow=escrow, actor=escrow.client, payment_method=card, return_url="http://t/")


def _fundings() -> int:
    return JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_FUNDING).count()


def test_a_dropped_payment_succeeded_is_funded_by_the_reconcile_job(webhooks_to_the_app):
    server = webhooks_to_the_app
    server.configure_faults(webhooks={"drop": 1.0})
    escrow = escrow_awaiting_payment(amount="100.00")
    _pay(escrow)
    assert server.wait_for_deliveries(timeout=30)
    assert server.fault_counts()["webhook_drop"] >= 1
    assert not WebhookEvent.objects.filter(type="payment_intent.succeeded").exists()
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.AWAITING_PAYMENT  # the processor's word never came

    assert services.escrows_payment_reconcile(quiet_for=timedelta(0)) == 1
    assert services.escrows_payment_reconcile(quiet_for=timedelta(0)) == 0
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and _fundings() == 1
    assert len(stored(server, "charges")) == 1


def test_duplicated_webhooks_fund_once(webhooks_to_the_app):
    server = webhooks_to_the_app
    server.configure_faults(webhooks={"duplicate": 1.0})
    escrow = escrow_awaiting_payment(amount="100.00")
    _pay(escrow)
    assert server.wait_for_deliveries(timeout=30)

    succeeded = WebhookEvent.objects.get(type="payment_intent.succeeded")
    assert succeeded.deliveries == 2 and succeeded.processed_at is not None
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and _fundings() == 1
    assert escrow.events.filter(kind=EscrowEvent.Kind.FUNDED).count() == 1


def test_reordered_webhooks_after_a_decline_fund_once_and_leave_no_stale_error(webhooks_to_the_app):
    server = webhooks_to_the_app
    server.configure_faults(webhooks={"reorder": 1.0})
    escrow = escrow_awaiting_payment(amount="100.00")
    _pay(escrow, "pm_card_chargeDeclined")
    _pay(escrow)
    assert server.wait_for_deliveries(timeout=30)

    assert server.fault_counts()["webhook_reorder"] >= 2
    with server.store.lock:
        sent = [e["id"] for e in sorted(server.store.coll("events").values(), key=lambda e: e["_seq"])]
    received = list(WebhookEvent.objects.order_by("received_at", "pk").values_list("event_id", flat=True))
    assert sorted(received) == sorted(sent) and received != sent  # all of them, not in Stripe's order
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and _fundings() == 1
    assert escrow_payment_error(escrow=escrow) == ""
    assert escrow.events.filter(kind=EscrowEvent.Kind.PAYMENT_FAILED).count() == 1


def test_a_delayed_payment_succeeded_and_the_reconcile_job_fund_once_whichever_comes_first(webhooks_to_the_app):
    server = webhooks_to_the_app
    server.configure_faults(webhooks={"delay": 1.0, "delay_seconds": 1.0})
    escrow = escrow_awaiting_payment(amount="100.00")
    _pay(escrow)
    assert server.fault_counts()["webhook_delay"] >= 1

    services.escrows_payment_reconcile(quiet_for=timedelta(0))  # most likely before the webhook
    assert server.wait_for_deliveries(timeout=30)

    assert WebhookEvent.objects.get(type="payment_intent.succeeded").processed_at is not None
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and _fundings() == 1
    assert escrow.events.filter(kind=EscrowEvent.Kind.FUNDED).count() == 1


def test_a_refund_whose_answer_was_lost_is_settled_once_by_its_duplicated_webhook(webhooks_to_the_app):
    server = webhooks_to_the_app
    escrow = escrow_awaiting_payment(amount="100.00")
    _pay(escrow)
    assert server.wait_for_deliveries(timeout=30)
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED

    server.configure_faults(
        rules=[{"match": "POST /v1/refunds", "fault": "lost_answer", "max": times_outlasting("lost_answer")}],
        webhooks={"duplicate": 1.0},
    )
    with pytest.raises(ApplicationError) as failed:
        services.escrow_refund(escrow=escrow, amount=Decimal("40.00"), actor=None, reason="Part not done")
    assert failed.value.code == "refund_pending"
    assert server.wait_for_deliveries(timeout=30)  # charge.refunded, twice

    refund = EscrowRefund.objects.get(escrow=escrow)
    assert refund.status == EscrowRefund.Status.SUCCEEDED and refund.processor_reference.startswith("re_")
    assert [r["amount"] for r in stored(server, "refunds")] == [4000]
    assert services.escrow_refunds_settle(older_than=timedelta(0)) == 0  # nothing left to settle
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and escrow.refunded_amount == Decimal("40.00")
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ESCROW_REFUND).count() == 1


@pytest.mark.parametrize("fault", ["error_500", "lost_answer"])
def test_a_webhook_whose_read_back_fails_past_the_retries_still_funds_once(webhooks_to_the_app, fault):
    server = webhooks_to_the_app
    escrow = escrow_awaiting_payment(amount="100.00")
    # The webhook task re-reads the payment from Stripe (the payload is not trusted): that read fails
    # for longer than the SDK retries; the task is retried.
    server.configure_faults(rules=[{"match": "GET /v1/payment_intents/*", "fault": fault, "max": 3}])
    _pay(escrow)
    assert server.wait_for_deliveries(timeout=30)

    assert server.fault_counts()[fault] == 3
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.FUNDED and _fundings() == 1
    assert WebhookEvent.objects.get(type="payment_intent.succeeded").processed_at is not None
    assert services.escrows_payment_reconcile(quiet_for=timedelta(0)) == 0
