"""Every write of the payouts app, split by stage (``from payouts import services``)."""

from payouts.services.approvals import (
    payout_approve,
    payout_cancel,
    payout_hold,
    payout_release_hold,
    payout_retry,
)
from payouts.services.execution import (
    payout_bank_payout_settle,
    payout_execute,
    payout_fail,
    payout_mark_paid,
    payout_wait,
    payouts_execute_due,
    payouts_refresh_in_transit,
)
from payouts.services.lifecycle import TRANSITIONS
from payouts.services.onboarding import (
    payout_account_get_or_create,
    payout_account_refresh,
    payout_account_sync,
    payout_dashboard_link,
    payout_onboarding_link,
)
from payouts.services.reconcile import payouts_reconcile
from payouts.services.requests import (
    payout_account_ready,
    payout_arrival_estimate,
    payout_fee,
    payout_request,
)
from payouts.services.schedules import payout_schedule_set, payouts_schedule_due, schedule_next_at

__all__ = [
    "TRANSITIONS",
    "payout_account_get_or_create",
    "payout_account_ready",
    "payout_account_refresh",
    "payout_account_sync",
    "payout_approve",
    "payout_arrival_estimate",
    "payout_bank_payout_settle",
    "payout_cancel",
    "payout_dashboard_link",
    "payout_execute",
    "payout_fail",
    "payout_fee",
    "payout_hold",
    "payout_mark_paid",
    "payout_onboarding_link",
    "payout_release_hold",
    "payout_request",
    "payout_retry",
    "payout_schedule_set",
    "payout_wait",
    "payouts_execute_due",
    "payouts_reconcile",
    "payouts_refresh_in_transit",
    "payouts_schedule_due",
    "schedule_next_at",
]
