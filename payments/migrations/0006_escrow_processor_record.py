"""The escrow's Stripe columns move to the processor record (processors.ProcessorTransaction);
a task may have several escrows; the timeline learns of holds (disputes, chargebacks)."""

import django.db.models.deletion
from django.db import migrations, models


def payments_to_processor_record(apps, schema_editor):
    """Each escrow that had a PaymentIntent gets a processor record of it, and points at it:
    the success that funded it (with its charge) when funded, else the attempt."""
    db = schema_editor.connection.alias
    Escrow = apps.get_model("payments", "Escrow")
    ProcessorTransaction = apps.get_model("processors", "ProcessorTransaction")
    ContentType = apps.get_model("contenttypes", "ContentType")
    escrow_type, _ = ContentType.objects.using(db).get_or_create(app_label="payments", model="escrow")
    for escrow in Escrow.objects.using(db).exclude(payment_intent_id="").iterator():
        kind = "payment_succeeded" if escrow.funded_at else "payment_started"
        row, _ = ProcessorTransaction.objects.using(db).get_or_create(
            idempotency_key=f"stripe:{kind}:{escrow.payment_intent_id}",
            defaults={
                "processor": "stripe",
                "kind": kind,
                "reference": escrow.payment_intent_id,
                "charge_reference": escrow.charge_id,
                "amount": escrow.client_total if escrow.funded_at else None,
                "currency": escrow.currency,
                "subject_type": escrow_type,
                "subject_id": str(escrow.pk),
            },
        )
        if escrow.last_payment_error and not escrow.funded_at:
            ProcessorTransaction.objects.using(db).get_or_create(
                idempotency_key=f"stripe:payment_failed:migrated:{escrow.pk}",
                defaults={
                    "processor": "stripe",
                    "kind": "payment_failed",
                    "reference": escrow.payment_intent_id,
                    "failure_code": escrow.last_payment_error_code,
                    "failure_message": escrow.last_payment_error,
                    "subject_type": escrow_type,
                    "subject_id": str(escrow.pk),
                },
            )
        Escrow.objects.using(db).filter(pk=escrow.pk).update(payment=row)
    _duplicate_keys_from_timelines(apps, db, escrow_type)


def _duplicate_keys_from_timelines(apps, db, escrow_type):
    """Declines and returned payments were recognised again by their ids in the timeline's text
    ("… (ch_…)", "… (pi_…)") or the Stripe event id; the processor record's unique keys do that now,
    so those already on record get their keys, and a replayed webhook still finds them."""
    import re

    EscrowEvent = apps.get_model("payments", "EscrowEvent")
    ProcessorTransaction = apps.get_model("processors", "ProcessorTransaction")
    kinds = {"payment_failed": r"\((ch_[A-Za-z0-9_]+)\)$", "payment_returned": r"\((pi_[A-Za-z0-9_]+)\)$"}
    for event in EscrowEvent.objects.using(db).filter(kind__in=kinds).iterator():
        found = re.search(kinds[event.kind], event.reason or "")
        if event.kind == "payment_failed" and found:
            key, reference, charge = f"stripe:payment_failed:{found.group(1)}", "", found.group(1)
        elif event.kind == "payment_failed" and event.stripe_event_id:
            key, reference, charge = f"stripe:payment_failed:event:{event.stripe_event_id}", "", ""
        elif event.kind == "payment_returned" and found:
            key, reference, charge = f"stripe:payment_returned:{found.group(1)}", found.group(1), ""
        else:
            continue
        ProcessorTransaction.objects.using(db).get_or_create(
            idempotency_key=key,
            defaults={
                "processor": "stripe",
                "kind": event.kind,
                "reference": reference,
                "charge_reference": charge,
                "amount": event.amount,
                "failure_message": event.reason[:500] if event.kind == "payment_failed" else "",
                "event_id": event.stripe_event_id,
                "subject_type": escrow_type,
                "subject_id": str(event.escrow_id),
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("marketplace", "0002_taskevent_append_only"),
        ("payments", "0005_escrow_charge_id_index"),
        ("processors", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="escrow",
            name="payment",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="processors.processortransaction",
            ),
        ),
        migrations.RunPython(payments_to_processor_record, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="escrowrefund", name="escrowrefund_stripe_refund_unique"),
        migrations.RenameField(model_name="escrowrefund", old_name="stripe_refund_id", new_name="processor_reference"),
        migrations.AddConstraint(
            model_name="escrowrefund",
            constraint=models.UniqueConstraint(
                condition=models.Q(("processor_reference", ""), _negated=True),
                fields=("processor_reference",),
                name="escrowrefund_processor_reference_unique",
            ),
        ),
        migrations.RemoveField(model_name="escrow", name="charge_id"),
        migrations.RemoveField(model_name="escrow", name="last_payment_error"),
        migrations.RemoveField(model_name="escrow", name="last_payment_error_code"),
        migrations.RemoveField(model_name="escrow", name="payment_intent_id"),
        migrations.RemoveField(model_name="escrowevent", name="stripe_event_id"),
        migrations.AlterField(
            model_name="escrow",
            name="offer",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="escrows", to="marketplace.offer"
            ),
        ),
        migrations.AddConstraint(
            model_name="escrow",
            constraint=models.UniqueConstraint(fields=("offer",), name="escrow_one_per_offer"),
        ),
        migrations.AlterField(
            model_name="escrowevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("payment_started", "Payment started"),
                    ("payment_failed", "Payment failed"),
                    ("payment_action_required", "Card authentication required"),
                    ("funded", "Funded"),
                    ("delivered", "Work delivered: review window started"),
                    ("changes_requested", "Changes requested: review window stopped"),
                    ("released", "Released to the tasker"),
                    ("refunded", "Refunded"),
                    ("partially_refunded", "Partially refunded"),
                    ("cancelled", "Cancelled"),
                    ("stale_flagged", "Flagged to Support: funded but not delivered"),
                    ("stripe_confirmed", "Confirmed by Stripe"),
                    ("payment_returned", "Payment returned to the client"),
                    ("needs_attention", "Needs Support's attention"),
                    ("disputed", "Held: disputed"),
                    ("unfrozen", "Hold lifted"),
                ],
                max_length=32,
            ),
        ),
    ]
