"""Stripe as a payment processor: the SDK boundary (gateway), the adapter, webhooks and set-up."""
