from django.db import migrations, models
from django.db.models.functions import Now


def mark_unconfirmed_transfers(apps, schema_editor):
    # Payouts already waiting on an unanswered transfer request: the new column is what marks them.
    Payout = apps.get_model("payouts", "Payout")
    Payout.objects.filter(status="processing", transfer__isnull=True, waiting="processor_unavailable").update(
        transfer_sent_at=Now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="payout",
            name="transfer_sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_unconfirmed_transfers, migrations.RunPython.noop),
    ]
