"""Identifier generation, kept in one place so every prefix is visible at a glance."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

PREFIXES = {
    "account": "acct",
    "customer": "cus",
    "payment_method": "pm",
    "payment_intent": "pi",
    "charge": "ch",
    "balance_transaction": "txn",
    "refund": "re",
    "transfer": "tr",
    "transfer_reversal": "trr",
    "payout": "po",
    "dispute": "dp",
    "event": "evt",
    "webhook_endpoint": "we",
    "bank_account": "ba",
    "connected_payment": "py",
    "request": "req",
    "file": "file",
    "setup_intent": "seti",
    "ephemeral_key": "ephkey",
}


def random_token(length=24):
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(kind):
    return f"{PREFIXES[kind]}_{random_token()}"


def client_secret(pi_id):
    return f"{pi_id}_secret_{random_token(25)}"


def ephemeral_secret():
    return f"ek_test_{random_token(48)}"


def webhook_secret():
    return f"whsec_{random_token(32)}"
