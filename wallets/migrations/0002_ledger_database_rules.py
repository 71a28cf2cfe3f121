"""Ledger rules enforced by PostgreSQL, so that raw SQL cannot break them either.

- Every journal entry has at least two postings and sums to zero per currency: a deferred
  constraint trigger on the entry, checked at COMMIT. Postings can only be added in the
  transaction that created their entry, so checking once per entry covers all of them.
- A posting's currency equals its account's currency; a posting's created_at is the
  transaction's timestamp; balances of user wallets and escrows are maintained by the
  posting trigger (and ``balance_after`` recorded on the posting). The CHECK constraint
  ``ledger_account_balance_never_negative`` then refuses any posting that would overdraw one.
- Postings and entries cannot be updated or deleted.
- An account's kind, currency and owner cannot change, and its balance can only be changed
  by the posting trigger.

Caveat: the entry check is deferred; ``SET CONSTRAINTS ALL IMMEDIATE`` before the postings
are inserted makes it fire too early (and refuse the entry), which is the safe direction.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION wallets_posting_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    account_kind text;
    account_currency text;
    entry_transaction bigint;
BEGIN
    SELECT transaction_id INTO entry_transaction FROM wallets_journalentry WHERE id = NEW.entry_id;
    IF entry_transaction IS DISTINCT FROM txid_current() THEN
        RAISE EXCEPTION 'ledger: postings can only be added to journal entry % in the transaction that created it',
            NEW.entry_id USING ERRCODE = 'restrict_violation';
    END IF;

    SELECT kind, currency INTO account_kind, account_currency FROM wallets_ledgeraccount WHERE id = NEW.account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger: account % does not exist', NEW.account_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NEW.currency IS DISTINCT FROM account_currency THEN
        RAISE EXCEPTION 'ledger: posting in % to account % which is in %', NEW.currency, NEW.account_id, account_currency
            USING ERRCODE = 'check_violation';
    END IF;

    NEW.created_at := transaction_timestamp();
    NEW.balance_after := NULL;
    IF account_kind IN ('user_wallet', 'escrow') THEN
        -- The ledger_account_balance_never_negative CHECK refuses an overdraft here.
        UPDATE wallets_ledgeraccount SET balance = balance + NEW.amount
         WHERE id = NEW.account_id
        RETURNING balance INTO NEW.balance_after;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER wallets_posting_before_insert
    BEFORE INSERT ON wallets_posting
    FOR EACH ROW EXECUTE FUNCTION wallets_posting_before_insert();


CREATE FUNCTION wallets_entry_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    posting_count integer;
    unbalanced record;
BEGIN
    SELECT count(*) INTO posting_count FROM wallets_posting WHERE entry_id = NEW.id;
    IF posting_count < 2 THEN
        RAISE EXCEPTION 'ledger: journal entry % has % posting(s); an entry needs at least two', NEW.id, posting_count
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT currency, sum(amount) AS total INTO unbalanced
      FROM wallets_posting WHERE entry_id = NEW.id
     GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: journal entry % does not balance: its % postings sum to %',
            NEW.id, unbalanced.currency, unbalanced.total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER wallets_entry_balanced
    AFTER INSERT ON wallets_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION wallets_entry_check_balanced();


CREATE FUNCTION wallets_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % rows are append-only; % is not allowed (post a correcting entry instead)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER wallets_posting_append_only
    BEFORE UPDATE OR DELETE ON wallets_posting
    FOR EACH ROW EXECUTE FUNCTION wallets_append_only();

CREATE TRIGGER wallets_journalentry_append_only
    BEFORE UPDATE OR DELETE ON wallets_journalentry
    FOR EACH ROW EXECUTE FUNCTION wallets_append_only();


CREATE FUNCTION wallets_ledgeraccount_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind IS DISTINCT FROM OLD.kind OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.user_id IS DISTINCT FROM OLD.user_id OR NEW.owner_type_id IS DISTINCT FROM OLD.owner_type_id
       OR NEW.owner_id IS DISTINCT FROM OLD.owner_id THEN
        RAISE EXCEPTION 'ledger: the kind, currency and owner of ledger account % cannot change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    -- Depth 1 is a statement issued by a client; the posting trigger's UPDATE runs at depth 2.
    IF NEW.balance IS DISTINCT FROM OLD.balance AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'ledger: the balance of ledger account % only changes by posting to it', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER wallets_ledgeraccount_guard
    BEFORE UPDATE ON wallets_ledgeraccount
    FOR EACH ROW
    WHEN (OLD.balance IS DISTINCT FROM NEW.balance OR OLD.kind IS DISTINCT FROM NEW.kind
          OR OLD.currency IS DISTINCT FROM NEW.currency OR OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.owner_type_id IS DISTINCT FROM NEW.owner_type_id OR OLD.owner_id IS DISTINCT FROM NEW.owner_id)
    EXECUTE FUNCTION wallets_ledgeraccount_guard();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS wallets_ledgeraccount_guard ON wallets_ledgeraccount;
DROP TRIGGER IF EXISTS wallets_journalentry_append_only ON wallets_journalentry;
DROP TRIGGER IF EXISTS wallets_posting_append_only ON wallets_posting;
DROP TRIGGER IF EXISTS wallets_entry_balanced ON wallets_journalentry;
DROP TRIGGER IF EXISTS wallets_posting_before_insert ON wallets_posting;
DROP FUNCTION IF EXISTS wallets_ledgeraccount_guard();
DROP FUNCTION IF EXISTS wallets_append_only();
DROP FUNCTION IF EXISTS wallets_entry_check_balanced();
DROP FUNCTION IF EXISTS wallets_posting_before_insert();
"""


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
