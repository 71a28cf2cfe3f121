from django.db import migrations

# The processor record is what the processor did: the database refuses to rewrite it.
FORWARD = """
CREATE OR REPLACE FUNCTION processors_processortransaction_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'processors_processortransaction rows are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER processors_processortransaction_no_update_delete
    BEFORE UPDATE OR DELETE ON processors_processortransaction
    FOR EACH ROW EXECUTE FUNCTION processors_processortransaction_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS processors_processortransaction_no_update_delete ON processors_processortransaction;
DROP FUNCTION IF EXISTS processors_processortransaction_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("processors", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
