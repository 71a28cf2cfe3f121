"""Reads for payments: who may see which escrow, what each party is shown, and back-office queues.

An escrow is visible only to its client and its tasker; for anyone else it does not exist
(``NotFound``), so its existence is not leaked.

================  ===============================================================================
``escrows``       party reads (list, get, current for a task), money lines, timeline, live payment,
                  payment error, the wallet's hooks (pending, payments, references), stale, panel
``detail``        the escrow API's detail read in one SQL statement
``ledger_check``  ledger check SQL for escrow accounts and wallet top-ups
``topups``        wallet top-ups: statement references, funded top-ups, withdrawals
``reporting``     for reporting (history, statistics, revenue): paid escrows, refunds, fees kept
================  ===============================================================================

Callers import the names from here: ``from payments.selectors import escrow_get_for_party``.
"""

from payments.selectors.detail import EscrowDetail, TimelineRow, escrow_detail_get_for_party
from payments.selectors.escrows import (
    CLIENT,
    CLIENT_ONLY_EVENTS,
    STAFF_ONLY_EVENTS,
    TASKER,
    BreakdownLine,
    LivePayment,
    Tx,
    escrow_breakdown_for,
    escrow_current_for_task,
    escrow_get_for_party,
    escrow_is_stale,
    escrow_list_for_user,
    escrow_panel,
    escrow_payment_error,
    escrow_payment_live,
    escrow_payments_for_client,
    escrow_pending_for_tasker,
    escrow_references_describe,
    escrow_role,
    escrow_stale_q,
    escrow_timeline,
)
from payments.selectors.ledger_check import (
    ESCROW_LEDGER_CHECK,
    ESCROW_LEDGER_CHECK_MESSAGE,
    ESCROW_LEDGER_CHECK_SQL,
    TOP_UP_LEDGER_CHECK,
    TOP_UP_LEDGER_CHECK_MESSAGE,
    TOP_UP_LEDGER_CHECK_SQL,
)
from payments.selectors.reporting import (
    ESCROW_HELD_BY_STATUS_SQL,
    RELEASED_STATUSES,
    escrow_client_fees_kept,
    escrow_fees_kept,
    escrow_held_by_status,
    escrow_refunds,
    escrow_returned_payments,
    escrows_paid,
)
from payments.selectors.topups import top_up_references_describe, top_ups_funded, wallet_withdrawals

__all__ = [
    "CLIENT",
    "CLIENT_ONLY_EVENTS",
    "ESCROW_HELD_BY_STATUS_SQL",
    "ESCROW_LEDGER_CHECK",
    "ESCROW_LEDGER_CHECK_MESSAGE",
    "ESCROW_LEDGER_CHECK_SQL",
    "RELEASED_STATUSES",
    "STAFF_ONLY_EVENTS",
    "TASKER",
    "TOP_UP_LEDGER_CHECK",
    "TOP_UP_LEDGER_CHECK_MESSAGE",
    "TOP_UP_LEDGER_CHECK_SQL",
    "BreakdownLine",
    "EscrowDetail",
    "LivePayment",
    "TimelineRow",
    "Tx",
    "escrow_breakdown_for",
    "escrow_client_fees_kept",
    "escrow_current_for_task",
    "escrow_detail_get_for_party",
    "escrow_fees_kept",
    "escrow_get_for_party",
    "escrow_held_by_status",
    "escrow_is_stale",
    "escrow_list_for_user",
    "escrow_panel",
    "escrow_payment_error",
    "escrow_payment_live",
    "escrow_payments_for_client",
    "escrow_pending_for_tasker",
    "escrow_references_describe",
    "escrow_refunds",
    "escrow_returned_payments",
    "escrow_role",
    "escrow_stale_q",
    "escrow_timeline",
    "escrows_paid",
    "top_up_references_describe",
    "top_ups_funded",
    "wallet_withdrawals",
]
