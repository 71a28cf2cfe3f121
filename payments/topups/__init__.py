"""Wallet top-ups by card, and withdrawing what is left back to that card.

A top-up is funded exactly like an escrow (DESIGN §3): a payment on the platform account, and only
the processor's word that it succeeded (its webhook, or ``top_ups_payment_reconcile`` asking) moves
the money in the ledger, from the processor balance into the client's wallet, with the key
``wallet-top-up:<id>:funding``. A decline is recorded once per failed charge; a payment for
another amount, or a second payment for a top-up already funded, is returned in full at the
processor; a success that arrives late (after the client left, days later) still funds it.

A withdrawal gives unused top-up money back to the card the top-up was paid with, as a refund of
that very payment (never to another card). It is taken out of the wallet in the ledger first, so
nothing can spend it while the processor is asked, and put back, visibly, if the processor refuses.
The wallet's balance can never go below zero (the database refuses it): a withdrawal racing an
escrow paid from the same wallet leaves one of them refused.

===============  ===============================================================
``base``         the metadata key, errors, the lock and the owner check
``start``        limits, the payment at the processor, confirming it with a card
``funding``      declines, funding from the processor's word, returned payments
``withdrawals``  reserve, refund to the card, settle, refunds made outside
===============  ===============================================================

Callers import from here: ``from payments import topups; topups.top_up_create(...)``.
"""

from payments.topups.base import METADATA_KEY, TopUpError, is_top_up, top_up_not_found, top_up_processor
from payments.topups.funding import (
    top_up_failure_record,
    top_up_failure_with,
    top_up_fund_from_payment,
    top_up_fund_with,
    top_ups_payment_reconcile,
)
from payments.topups.start import (
    TopUpAttempt,
    TopUpCheckout,
    top_up_checkout_start,
    top_up_create,
    top_up_limits,
    top_up_payment_confirm,
)
from payments.topups.withdrawals import (
    top_up_withdraw,
    top_up_withdrawal_execute,
    top_up_withdrawal_reserve,
    withdrawal_fail,
    withdrawals_settle,
    withdrawals_settle_for_charge,
)

__all__ = [
    "METADATA_KEY",
    "TopUpAttempt",
    "TopUpCheckout",
    "TopUpError",
    "is_top_up",
    "top_up_checkout_start",
    "top_up_create",
    "top_up_failure_record",
    "top_up_failure_with",
    "top_up_fund_from_payment",
    "top_up_fund_with",
    "top_up_limits",
    "top_up_not_found",
    "top_up_payment_confirm",
    "top_up_processor",
    "top_up_withdraw",
    "top_up_withdrawal_execute",
    "top_up_withdrawal_reserve",
    "top_ups_payment_reconcile",
    "withdrawal_fail",
    "withdrawals_settle",
    "withdrawals_settle_for_charge",
]
