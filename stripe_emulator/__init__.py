"""A stateful, in-memory Stripe API emulator for local development and tests."""

API_VERSION = "2026-08-26.dahlia"
