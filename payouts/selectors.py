"""Reads of the payouts app: a tasker's payouts, a payout's statement, what Stripe still needs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import User
from core.errors import NotFound
from core.money import quantize, supported_currencies
from payouts.models import Payout, PayoutAccount, PayoutSource
from payouts.services.requests import payout_arrival_estimate, payout_fee
from wallets.selectors import entries_describe, wallet_balances

# Stripe's requirement keys, in words a tasker understands. Unknown keys are shown humanised.
REQUIREMENT_WORDS = {
    "business_profile.mcc": "What kind of work you do",
    "business_profile.url": "A website or online profile that shows your work",
    "business_profile.product_description": "A short description of your work",
    "business_type": "Whether you work as an individual or as a company",
    "external_account": "The bank account your payouts go to",
    "representative.first_name": "Your first name",
    "representative.last_name": "Your last name",
    "individual.first_name": "Your first name",
    "individual.last_name": "Your last name",
    "individual.dob.day": "Your date of birth",
    "individual.dob.month": "Your date of birth",
    "individual.dob.year": "Your date of birth",
    "individual.address.line1": "Your address",
    "individual.address.city": "Your address",
    "individual.address.postal_code": "Your address",
    "individual.email": "Your email address",
    "individual.phone": "Your phone number",
    "individual.ssn_last_4": "The last 4 digits of your social security number",
    "individual.id_number": "Your ID number",
    "individual.verification.document": "A photo of your ID document",
    "tos_acceptance.date": "Accepting Stripe's terms of service",
    "tos_acceptance.ip": "Accepting Stripe's terms of service",
}

DISABLED_REASONS = {
    "requirements.past_due": "Stripe is missing some of your details (listed below).",
    "requirements.pending_verification": "Stripe is checking the details you gave.",
    "rejected.fraud": "Stripe closed this account.",
    "rejected.other": "Stripe closed this account.",
    "under_review": "Stripe is reviewing this account.",
    "listed": "Stripe is reviewing this account.",
}


def requirements_in_words(keys: list[str] | tuple[str, ...]) -> list[str]:
    """What Stripe still needs, each once, in words ("Your date of birth", not ``individual.dob.day``)."""
    words: list[str] = []
    for key in keys:
        text = REQUIREMENT_WORDS.get(key) or key.rsplit(".", 1)[-1].replace("_", " ").capitalize()
        if text not in words:
            words.append(text)
    return words


def disabled_reason_in_words(reason: str) -> str:
    return DISABLED_REASONS.get(reason, reason.replace("_", " ").replace(".", ": ") if reason else "")


def payout_account_for(*, user: User) -> PayoutAccount | None:
    return PayoutAccount.objects.filter(user=user).first()


def payout_list_for_tasker(*, user: User, status: str = "") -> QuerySet[Payout]:
    payouts = Payout.objects.filter(tasker=user).select_related("account", "transfer", "bank_payout")
    if status:
        payouts = payouts.filter(status=status)
    return payouts.order_by("-requested_at", "-id")


def payout_get_for_tasker(*, payout_id: int, user: User) -> Payout:
    """The tasker's own payout; anyone else's is "not found" (never "forbidden": ids are not leaked)."""
    payout = payout_list_for_tasker(user=user).filter(pk=payout_id).first()
    if payout is None:
        raise NotFound("No such payout.", code="payout_not_found")
    return payout


@dataclass(frozen=True)
class StatementLine:
    """One wallet credit a payout's money came from (a released escrow: its task)."""

    label: str
    url: str
    credited_at: object
    amount: Decimal
    currency: str


def payout_statement(*, payout: Payout) -> list[StatementLine]:
    """Where this attempt's money came from: the wallet credits (released escrows) it used, oldest first."""
    sources = list(
        PayoutSource.objects.filter(payout=payout, attempt=payout.attempt)
        .select_related("entry")
        .order_by("credited_at", "entry_id")
    )
    described = entries_describe(entries=[s.entry for s in sources])
    return [
        StatementLine(
            label=described[s.entry_id][0] or s.entry.get_kind_display(),
            url=described[s.entry_id][1],
            credited_at=s.credited_at,
            amount=s.amount,
            currency=payout.currency,
        )
        for s in sources
    ]


@dataclass(frozen=True)
class PayoutOption:
    """What a tasker can pay out in one currency, and on what terms."""

    currency: str
    available: Decimal
    minimum: Decimal
    fee: Decimal
    can_request: bool


def payout_options(*, user: User) -> list[PayoutOption]:
    account = payout_account_for(user=user)
    options = []
    for balance in wallet_balances(user=user):
        if balance.currency not in supported_currencies():
            continue
        if account and account.bank_currency and account.bank_currency != balance.currency and not balance.available:
            continue
        minimum = quantize(settings.PAYOUT_MIN_AMOUNT, balance.currency)
        options.append(
            PayoutOption(
                currency=balance.currency,
                available=balance.available,
                minimum=minimum,
                fee=payout_fee(balance.currency),
                can_request=bool(account and account.can_receive_payouts and balance.available >= minimum),
            )
        )
    return options


def arrival_estimate():
    return payout_arrival_estimate()


def payout_references_describe(ids: list[str]) -> dict[str, tuple[str, str]]:
    """Ledger entries about payouts, as people know them (registered with the wallet statement)."""
    payouts = Payout.objects.filter(pk__in=[int(i) for i in ids if str(i).isdigit()]).select_related("account")
    described = {}
    for payout in payouts:
        bank = f" to {payout.account.bank_name} ····{payout.account.bank_last4}" if payout.account.bank_last4 else ""
        described[str(payout.pk)] = (f"Payout #{payout.pk}{bank}", reverse("payouts:detail", args=[payout.pk]))
    return described


# The ledger's money in transit for payouts equals the net of the payouts still on their way
# (requested, processing, on hold or in transit): registered with the ledger check.
PAYOUT_LEDGER_CHECK = "payouts_in_transit_mismatch"
PAYOUT_LEDGER_CHECK_SQL = """
    SELECT c.currency, coalesce(l.total, 0), coalesce(o.total, 0)
      FROM (SELECT DISTINCT currency FROM payouts_payout) c
      LEFT JOIN (SELECT a.currency, sum(p.amount) AS total
                   FROM wallets_posting p
                   JOIN wallets_ledgeraccount a ON a.id = p.account_id
                   JOIN wallets_journalentry e ON e.id = p.entry_id
                  WHERE a.kind = 'payouts_in_transit' AND e.reference LIKE 'payouts.payout:%'
                  GROUP BY a.currency) l ON l.currency = c.currency
      LEFT JOIN (SELECT currency, sum(net) AS total FROM payouts_payout
                  WHERE status IN ('requested', 'processing', 'on_hold', 'in_transit')
                  GROUP BY currency) o ON o.currency = c.currency
     WHERE coalesce(l.total, 0) <> coalesce(o.total, 0)
     ORDER BY c.currency LIMIT 50
"""
PAYOUT_LEDGER_CHECK_MESSAGE = (
    "Payouts in transit hold {1} {0} in the ledger, but the payouts on their way add up to {2} {0}."
)


def payouts_needing_approval() -> QuerySet[Payout]:
    return Payout.objects.filter(status=Payout.Status.REQUESTED)


def payouts_for_history(*, tasker: User | None = None) -> QuerySet[Payout]:
    """Every payout (any status), of one tasker (``None``: everyone's), for histories and statements."""
    payouts = Payout.objects.all()
    if tasker is not None:
        payouts = payouts.filter(tasker=tasker)
    return payouts
