"""Refusals raised by the ledger, each with a stable ``code``."""

from __future__ import annotations

from decimal import Decimal

from core.errors import Conflict, ValidationError


class InsufficientFunds(Conflict):
    default_code = "insufficient_funds"

    def __init__(self, *, account_label: str, currency: str, available: Decimal, required: Decimal):
        super().__init__(
            f"There is not enough money in {account_label}: "
            f"{available} {currency} available, {required} {currency} needed.",
            details={"currency": currency, "available": str(available), "required": str(required)},
        )


class IdempotencyKeyReused(Conflict):
    default_code = "idempotency_key_reused"
    default_message = "This operation was already recorded with different amounts, so it was not recorded again."


class UnbalancedEntry(ValidationError):
    default_code = "ledger_entry_unbalanced"
    default_message = "The amounts of a ledger entry must add up to zero in each currency."
