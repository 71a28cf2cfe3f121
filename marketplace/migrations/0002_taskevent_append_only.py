from django.db import migrations

from core.sql import append_only_sql

# The timeline is evidence (support reads it in disputes), so the database itself refuses to
# rewrite it, whatever code path tries.


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0001_initial")]

    operations = [migrations.RunSQL(*append_only_sql("marketplace_taskevent"))]
