"""Every write in the marketplace: posting tasks, bidding, accepting, and moving a task along.

Each status change locks the row (``select_for_update``), re-checks the state, returns early if
the change already happened (so a double click or a retried request is harmless), and writes a
``TaskEvent``. Refusals are ``core.errors`` exceptions with stable codes and change nothing.
"""

from marketplace.services.common import DESCRIPTION_MAX_LENGTH, MESSAGE_MAX_LENGTH, REASON_MAX_LENGTH, TITLE_MAX_LENGTH
from marketplace.services.offers import offer_accept, offer_reject, offer_submit, offer_withdraw
from marketplace.services.tasks import (
    task_cancel,
    task_complete,
    task_mark_delivered,
    task_post,
    task_request_changes,
    task_update,
)

__all__ = [
    "DESCRIPTION_MAX_LENGTH",
    "MESSAGE_MAX_LENGTH",
    "REASON_MAX_LENGTH",
    "TITLE_MAX_LENGTH",
    "offer_accept",
    "offer_reject",
    "offer_submit",
    "offer_withdraw",
    "task_cancel",
    "task_complete",
    "task_mark_delivered",
    "task_post",
    "task_request_changes",
    "task_update",
]
