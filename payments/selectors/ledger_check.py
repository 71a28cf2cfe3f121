"""Ledger check SQL registered in PaymentsConfig.ready(): escrow accounts and wallet top-ups."""

from __future__ import annotations

# Registered with the ledger check in PaymentsConfig.ready(): every escrow's ledger account holds
# exactly what the escrow row says it holds. Unpaid and finished (released, refunded, split)
# escrows hold nothing; any other paid escrow (funded, disputed, or cancelled while a late
# payment is refunded) holds what was charged less what was refunded. An unfunded escrow may
# have no account yet: it counts as 0. The join is on equalities only, so PostgreSQL can
# hash-join the two tables in one pass however large they grow.
ESCROW_LEDGER_CHECK = "escrow_balance_mismatch"
ESCROW_LEDGER_CHECK_SQL = """
    SELECT id, status, currency, expected, actual FROM (
        SELECT e.id, replace(e.status, '_', ' ') AS status, e.currency,
               CASE WHEN e.funded_at IS NULL OR e.status IN ('released', 'refunded', 'split') THEN 0.00
                    ELSE e.client_total - e.refunded_amount END AS expected,
               coalesce(a.balance, 0.00) AS actual
          FROM payments_escrow e
          LEFT JOIN wallets_ledgeraccount a
                 ON a.kind = 'escrow' AND a.currency = e.currency AND a.owner_id = e.id::text
                AND a.owner_type_id = (SELECT id FROM django_content_type
                                        WHERE app_label = 'payments' AND model = 'escrow')
    ) checked
    WHERE expected <> actual ORDER BY id LIMIT 50"""
ESCROW_LEDGER_CHECK_MESSAGE = (
    "Escrow {0} is {1} and should hold {3} {2} in its ledger account, but the account holds {4}."
)

# Registered with the ledger check: what the ledger moved for each top-up agrees with the top-up
# (its amount in the wallet once funded, never twice; what went back to the card = withdrawn_amount).
TOP_UP_LEDGER_CHECK = "wallet_top_up_mismatch"
TOP_UP_LEDGER_CHECK_SQL = """
    SELECT id, currency, expected_in, actual_in, withdrawn_amount, actual_out FROM (
        SELECT t.id, t.currency, t.withdrawn_amount,
               CASE WHEN t.funded_at IS NULL THEN 0.00 ELSE t.amount END AS expected_in,
               coalesce(sum(p.amount) FILTER (WHERE e.kind = 'wallet_top_up'), 0.00) AS actual_in,
               coalesce(-sum(p.amount) FILTER (WHERE e.kind = 'wallet_withdrawal'), 0.00) AS actual_out
          FROM payments_wallettopup t
          LEFT JOIN wallets_journalentry e
                 ON e.reference_id = t.id::text
                AND e.reference_type_id = (SELECT id FROM django_content_type
                                            WHERE app_label = 'payments' AND model = 'wallettopup')
          LEFT JOIN wallets_posting p ON p.entry_id = e.id
          LEFT JOIN wallets_ledgeraccount a ON a.id = p.account_id
         WHERE a.kind = 'user_wallet' OR a.id IS NULL
         GROUP BY t.id
    ) checked
    WHERE expected_in <> actual_in OR withdrawn_amount <> actual_out ORDER BY id LIMIT 50"""
TOP_UP_LEDGER_CHECK_MESSAGE = (
    "Top-up {0} should have put {2} {1} into the wallet and taken {4} back to its card, "
    "but the ledger shows {3} in and {5} out."
)
