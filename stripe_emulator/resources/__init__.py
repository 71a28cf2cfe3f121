"""Resource handlers. Importing this package registers every route with the router."""

from . import (  # noqa: F401
    accounts,
    balance,
    charges,
    customers,
    disputes,
    emulator,
    ephemeral_keys,
    events,
    files,
    payment_intents,
    payment_methods,
    payouts,
    rate_limit,
    refunds,
    setup_intents,
    transfers,
    webhook_endpoints,
)


def process_due(store):
    """Apply everything the emulator clock has made due (funds availability, payout arrival)."""
    balance.process_due(store)
    payouts.process_due(store)
