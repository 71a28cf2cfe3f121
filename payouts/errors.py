"""Refusals of the payouts app, each with a stable ``code`` and a sentence for people."""

from __future__ import annotations

from core.errors import Conflict, PermissionDenied, ValidationError


class PayoutError(Conflict):
    default_code = "payout_refused"
    default_message = "That cannot be done with this payout now."


class PayoutInputError(ValidationError):
    default_code = "payout_invalid"


class PayoutPermissionDenied(PermissionDenied):
    default_code = "payout_permission_denied"
    default_message = "Only Finance may approve, hold, retry or cancel payouts of taskers."
