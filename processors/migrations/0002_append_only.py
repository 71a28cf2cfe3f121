from django.db import migrations

from core.sql import append_only_sql

# The processor record is what the processor did: the database refuses to rewrite it.


class Migration(migrations.Migration):
    dependencies = [("processors", "0001_initial")]

    operations = [migrations.RunSQL(*append_only_sql("processors_processortransaction"))]
