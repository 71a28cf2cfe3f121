from django.db import migrations

# The timeline is evidence (support reads it in disputes), so the database itself refuses to
# rewrite it, whatever code path tries.
FORWARD = """
CREATE OR REPLACE FUNCTION marketplace_taskevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'marketplace_taskevent rows are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER marketplace_taskevent_no_update_delete
    BEFORE UPDATE OR DELETE ON marketplace_taskevent
    FOR EACH ROW EXECUTE FUNCTION marketplace_taskevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS marketplace_taskevent_no_update_delete ON marketplace_taskevent;
DROP FUNCTION IF EXISTS marketplace_taskevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
