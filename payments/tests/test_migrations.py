"""The migration that moved the escrow's Stripe columns into the processor record keeps what each
existing escrow knew: its PaymentIntent, the charge refunds are matched by, and its last decline."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from scripts.first_migrate import djstripe_tables_create

BEFORE = ("payments", "0005_escrow_charge_id_index")
AFTER = ("payments", "0006_escrow_processor_record")


def _escrow(apps, db, *, n: int, status: str, **stripe):
    User = apps.get_model("accounts", "User")
    Task = apps.get_model("marketplace", "Task")
    Offer = apps.get_model("marketplace", "Offer")
    FeePolicy = apps.get_model("payments", "FeePolicy")
    Escrow = apps.get_model("payments", "Escrow")
    client = User.objects.using(db).create(email=f"c{n}@example.com", password="!")
    tasker = User.objects.using(db).create(email=f"t{n}@example.com", password="!")
    task = Task.objects.using(db).create(
        client=client, title="Fix a tap", description="Drips.", budget=Decimal("100.00"), budget_currency="USD"
    )
    offer = Offer.objects.using(db).create(task=task, tasker=tasker, amount=Decimal("100.00"), amount_currency="USD")
    policy, _ = FeePolicy.objects.using(db).get_or_create(currency="USD", version=1)
    return Escrow.objects.using(db).create(
        task=task,
        offer=offer,
        client=client,
        tasker=tasker,
        status=status,
        currency="USD",
        amount=Decimal("100.00"),
        client_fee=Decimal("5.00"),
        commission=Decimal("20.00"),
        tasker_net=Decimal("80.00"),
        client_total=Decimal("105.00"),
        fee_policy=policy,
        review_window=timedelta(days=7),
        **stripe,
    )


@pytest.mark.django_db(transaction=True)
def test_existing_escrows_keep_their_payment_charge_and_decline(empty_database, django_db_blocker):
    db = empty_database.alias
    with django_db_blocker.unblock():
        djstripe_tables_create(connection=empty_database)
        executor = MigrationExecutor(empty_database)
        executor.migrate([BEFORE])
        apps = executor.loader.project_state([BEFORE]).apps
        funded = _escrow(
            apps, db, n=1, status="funded", payment_intent_id="pi_1", charge_id="ch_1", funded_at=timezone.now()
        )
        declined = _escrow(
            apps,
            db,
            n=2,
            status="awaiting_payment",
            payment_intent_id="pi_2",
            last_payment_error="The card was declined.",
            last_payment_error_code="card_declined",
        )
        unpaid = _escrow(apps, db, n=3, status="awaiting_payment")
        EscrowEvent = apps.get_model("payments", "EscrowEvent")
        EscrowEvent.objects.using(db).create(
            escrow_id=declined.pk, kind="payment_failed", reason="The card was declined. (ch_9)"
        )
        EscrowEvent.objects.using(db).create(
            escrow_id=funded.pk, kind="payment_returned", reason="A second payment for an escrow already paid (pi_x)"
        )

        executor = MigrationExecutor(empty_database)
        executor.loader.build_graph()
        executor.migrate([AFTER])
        apps = executor.loader.project_state([AFTER]).apps
        Escrow = apps.get_model("payments", "Escrow")
        Tx = apps.get_model("processors", "ProcessorTransaction")

        paid = Escrow.objects.using(db).select_related("payment").get(pk=funded.pk)
        assert (paid.payment.kind, paid.payment.reference, paid.payment.charge_reference) == (
            "payment_succeeded",
            "pi_1",
            "ch_1",
        )
        assert Escrow.objects.using(db).filter(payment__charge_reference="ch_1").get().pk == funded.pk
        waiting = Escrow.objects.using(db).select_related("payment").get(pk=declined.pk)
        assert (waiting.payment.kind, waiting.payment.reference) == ("payment_started", "pi_2")
        decline = Tx.objects.using(db).get(idempotency_key=f"stripe:payment_failed:migrated:{declined.pk}")
        assert (decline.failure_message, decline.failure_code) == ("The card was declined.", "card_declined")
        assert Escrow.objects.using(db).get(pk=unpaid.pk).payment_id is None
        # Replayed webhooks still find what the timeline recorded, by the record's unique keys.
        assert Tx.objects.using(db).filter(idempotency_key="stripe:payment_failed:ch_9").exists()
        assert Tx.objects.using(db).filter(idempotency_key="stripe:payment_returned:pi_x").exists()
        assert Tx.objects.using(db).count() == 5
