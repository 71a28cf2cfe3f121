"""Escrow services, one module per lifecycle stage (DESIGN §4).

==================  ===============================================================
``transitions``     the only writer of status: lock, allowed moves, event, publish
``create``          an escrow for an accepted offer, priced with the fee policy
``funding``         checkout, card confirm, declines, funding, returned payments
``wallet_funding``  paying from the client's wallet at once (no processor call)
``review``          delivery and the review window, stale escrows
``release``         release to the tasker, approve, the review-window sweeper
``refunds``         reserve, execute, settle, take in outside refunds
``cancel``          cancel or expire unpaid escrows, refund funded ones
``holds``           freeze / unfreeze / rule (release, refund, split): disputes, chargebacks
==================  ===============================================================

Callers import the functions from here: ``from payments.escrow import escrow_release``.
"""

from payments.escrow.cancel import escrow_cancel, escrows_expire_unfunded
from payments.escrow.create import escrow_amount_check, escrow_create
from payments.escrow.errors import EscrowError
from payments.escrow.funding import (
    Checkout,
    PaymentAttempt,
    escrow_checkout_start,
    escrow_fund_from_payment,
    escrow_payment_confirm,
    escrow_payment_failure_from_payment,
    escrow_payment_failure_record,
    escrow_processor,
    escrows_payment_reconcile,
)
from payments.escrow.holds import (
    Ruling,
    escrow_cancel_request_register,
    escrow_close_by_chargeback,
    escrow_freeze,
    escrow_hold_note,
    escrow_rule,
    escrow_unfreeze,
)
from payments.escrow.refunds import (
    escrow_needs_attention,
    escrow_refund,
    escrow_refund_complete,
    escrow_refund_execute,
    escrow_refund_fail,
    escrow_refund_reserve,
    escrow_refunds_settle,
    escrow_refunds_settle_for_charge,
)
from payments.escrow.release import escrow_approve, escrow_release, escrows_release_due
from payments.escrow.review import (
    escrows_changes_requested_record,
    escrows_delivery_record,
    escrows_flag_stale,
    escrows_for_task,
    escrows_lock_for_task,
)
from payments.escrow.transitions import TRANSITIONS, escrow_lock, escrow_transition
from payments.escrow.wallet_funding import escrow_fund_from_wallet

__all__ = [
    "TRANSITIONS",
    "Checkout",
    "EscrowError",
    "PaymentAttempt",
    "Ruling",
    "escrow_amount_check",
    "escrow_approve",
    "escrow_cancel",
    "escrow_cancel_request_register",
    "escrow_checkout_start",
    "escrow_close_by_chargeback",
    "escrow_create",
    "escrow_freeze",
    "escrow_fund_from_payment",
    "escrow_hold_note",
    "escrow_fund_from_wallet",
    "escrow_lock",
    "escrow_needs_attention",
    "escrow_payment_confirm",
    "escrow_payment_failure_from_payment",
    "escrow_payment_failure_record",
    "escrow_processor",
    "escrow_refund",
    "escrow_refund_complete",
    "escrow_refund_execute",
    "escrow_refund_fail",
    "escrow_refund_reserve",
    "escrow_refunds_settle",
    "escrow_refunds_settle_for_charge",
    "escrow_release",
    "escrow_rule",
    "escrow_transition",
    "escrow_unfreeze",
    "escrows_changes_requested_record",
    "escrows_delivery_record",
    "escrows_expire_unfunded",
    "escrows_flag_stale",
    "escrows_for_task",
    "escrows_lock_for_task",
    "escrows_payment_reconcile",
    "escrows_release_due",
]
