"""The action list: a pure function of the seed.

Every action is a plain dict (JSON-able, so a failing list can be printed and replayed): its
``kind`` and raw random parameters (``pick`` numbers, amounts, cards, an optional ``fault``). The
list never looks at the system's state, so the same seed always gives the same list, and any
sub-list of it is still a list of actions. What an action acts on is resolved when it runs:
``pick`` chooses among the objects that action can apply to at that moment (modulo their number),
and an action with nothing to apply to is skipped.
"""

from __future__ import annotations

import random

# kind -> weight. Most steps are cheap (database only); those that talk to the processor are fewer.
WEIGHTS: dict[str, float] = {
    "signup": 2,
    "post_task": 11,
    "bid": 16,
    "accept": 9,
    "pay_card": 6,
    "pay_wallet": 4,
    "top_up": 2.5,
    "withdraw": 1.2,
    "deliver": 7,
    "approve": 5,
    "request_changes": 1.5,
    "cancel": 2,
    "refund": 2,
    "open_dispute": 2.5,
    "dispute_step": 3,
    "chargeback_answer": 1.2,
    "onboard": 2.5,
    "fix_bank": 0.6,
    "payout_request": 3.5,
    "payout_approve": 1.5,
    "payout_retry": 0.8,
    "payout_cancel": 0.5,
    "advance_clock": 2.5,
    "repair": 1.5,
}
KINDS = tuple(WEIGHTS)

# Test cards (stripe_emulator/README.md): mostly good, some declined, some asking for 3-D Secure,
# some that the bank disputes at once (a chargeback).
CARDS = (
    ("pm_card_visa", 62),
    ("pm_card_mastercard", 8),
    ("pm_card_chargeDeclined", 7),
    ("pm_card_chargeDeclinedInsufficientFunds", 4),
    ("pm_card_authenticationRequired", 9),
    ("pm_card_createDispute", 10),
)
TOP_UP_CARDS = (("pm_card_visa", 85), ("pm_card_chargeDeclined", 8), ("pm_card_authenticationRequired", 7))
BANKS = (("btok_us_verified", 82), ("btok_us_verified_noAccount", 10), ("btok_us_verified_accountClosed", 8))
CLOCK_STEPS = ((6 * 3600, 3), (86400, 4), (3 * 86400, 3), (8 * 86400, 1))

# Processor faults for one step (stripe_emulator/faults.py). ``max`` 3 outlasts the SDK's three
# attempts (and Holdfast's own 429 retries in a run), so the call fails and a repair job must finish it.
API_FAULTS = (("error_500", 35), ("rate_limit_429", 25), ("lost_answer", 30), ("hang", 10))
API_MATCHES = (
    "POST /v1/payment_intents*",
    "GET /v1/payment_intents/*",
    "POST /v1/refunds*",
    "GET /v1/refunds*",
    "GET /v1/charges*",
    "POST /v1/transfers*",
    "POST /v1/payouts*",
    "GET /v1/payouts*",
    "POST /v1/disputes/*",
    "GET /v1/disputes/*",
    "POST /v1/accounts*",
    "POST /v1/*",
    "GET /v1/*",
)
WEBHOOK_FAULTS = (("drop", 35), ("duplicate", 30), ("reorder", 25), ("delay", 10))
API_FAULT_RATE = 0.14
WEBHOOK_FAULT_RATE = 0.07


def _weighted(rng: random.Random, pairs) -> object:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _amount(rng: random.Random) -> str:
    """A price: mostly everyday tasks, some large ones (a ruling above 500.00 needs two staff)."""
    roll = rng.random()
    if roll < 0.75:
        cents = rng.randrange(2000, 40000)
    elif roll < 0.95:
        cents = rng.randrange(40000, 120000)
    else:
        cents = rng.randrange(500, 2000)
    return f"{cents // 100}.{cents % 100:02d}"


def _fault(rng: random.Random) -> dict | None:
    fault: dict = {}
    if rng.random() < API_FAULT_RATE:
        kind = _weighted(rng, API_FAULTS)
        rule = {"match": rng.choice(API_MATCHES), "fault": kind, "max": rng.choice((1, 1, 2, 3))}
        if kind == "hang":
            rule["seconds"] = 0.3
        fault["rule"] = rule
    if rng.random() < WEBHOOK_FAULT_RATE:
        fault["webhook"] = _weighted(rng, WEBHOOK_FAULTS)
    if fault:
        fault["seed"] = rng.randrange(1 << 30)
    return fault or None


def action_generate(rng: random.Random, *, faults: bool = True) -> dict:
    kind = rng.choices(KINDS, weights=[WEIGHTS[k] for k in KINDS])[0]
    action: dict = {"kind": kind, "pick": rng.randrange(1 << 30), "pick2": rng.randrange(1 << 30)}
    roll = rng.random()
    if kind == "signup":
        action["role"] = "client" if roll < 0.5 else ("tasker" if roll < 0.9 else "both")
    elif kind in ("post_task", "bid"):
        action["amount"] = _amount(rng)
    elif kind == "pay_card":
        action["card"] = _weighted(rng, CARDS)
        action["authenticate"] = "complete" if roll < 0.8 else "fail"
    elif kind == "top_up":
        action["amount"] = f"{rng.randrange(10, 1500)}.{rng.randrange(100):02d}"
        action["card"] = _weighted(rng, TOP_UP_CARDS)
        action["authenticate"] = "complete" if roll < 0.8 else "fail"
    elif kind == "withdraw":
        action["share"] = None if roll < 0.5 else round(rng.uniform(0.05, 0.9), 2)
    elif kind == "refund":
        action["share"] = None if roll < 0.4 else round(rng.uniform(0.05, 0.9), 2)
    elif kind == "open_dispute":
        action["by"] = "client" if roll < 0.7 else "tasker"
    elif kind == "dispute_step":
        action["step"] = rng.choices(
            ("rule_release", "rule_refund", "rule_split", "settle", "withdraw", "escalate", "approve_ruling"),
            weights=(3, 3, 3, 2, 1, 1, 2),
        )[0]
        action["share"] = round(rng.uniform(0.05, 0.95), 2)
    elif kind == "chargeback_answer":
        action["answer"] = rng.choices(("winning_evidence", "losing_evidence", "accept"), weights=(5, 3, 2))[0]
    elif kind == "onboard":
        action["bank"] = _weighted(rng, BANKS)
    elif kind == "payout_request":
        action["share"] = 1.0 if roll < 0.5 else round(rng.uniform(0.2, 0.95), 2)
    elif kind == "advance_clock":
        action["seconds"] = _weighted(rng, CLOCK_STEPS)
    if faults:
        fault = _fault(rng)
        if fault:
            action["fault"] = fault
    return action


def actions_generate(*, seed: int, steps: int, faults: bool = True) -> list[dict]:
    """The ``steps`` actions of run ``seed``: the same seed, the same list."""
    rng = random.Random(seed)
    return [action_generate(rng, faults=faults) for _ in range(steps)]
