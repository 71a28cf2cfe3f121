"""Histories built through the real services (the Stripe emulator for the money), and the ledger's
own sums to compare reports with."""

from __future__ import annotations

import io
from decimal import Decimal

from djmoney.money import Money
from pypdf import PdfReader

from marketplace import services as market
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments import escrow as escrow_services
from payments.models import Escrow
from payments.tests.factories import escrow_pay
from wallets.models import JournalEntry, LedgerAccount, Posting

ZERO = Decimal("0.00")


def paid_escrow(*, client, tasker, amount: str | Decimal = "100.00", currency: str = "USD", title: str = "") -> Escrow:
    task_kwargs = {"client": client, "budget": Money(Decimal(amount), currency)}
    if title:
        task_kwargs["title"] = title
    task = TaskFactory(**task_kwargs)
    offer = OfferFactory(task=task, tasker=tasker, amount=Money(Decimal(amount), currency))
    market.offer_accept(offer=offer, actor=client)
    return escrow_pay(Escrow.objects.get(offer=offer))


def release(escrow: Escrow) -> Escrow:
    escrow_services.escrow_release(escrow=escrow, actor=None, reason="Released for the test")
    escrow.refresh_from_db()
    return escrow


def refund(escrow: Escrow, amount: Decimal | None, actor=None):
    result = escrow_services.escrow_refund(escrow=escrow, amount=amount, actor=actor, reason="Refund for the test")
    escrow.refresh_from_db()
    return result


def split(escrow: Escrow, client_refund: Decimal) -> Escrow:
    escrow_services.escrow_freeze(escrow=escrow, actor=None, reason="Disputed for the test")
    escrow_services.escrow_rule(
        escrow=escrow, actor=None, outcome="split", reason="Half done", client_refund=client_refund
    )
    escrow.refresh_from_db()
    return escrow


def ledger_sum(**filters) -> Decimal:
    """The sum of the postings matching ``filters`` (Django lookups on ``Posting``)."""
    return sum(Posting.objects.filter(**filters).values_list("amount", flat=True), ZERO)


def escrow_postings(*, currency: str, entry_kind: str, **account) -> Decimal:
    return ledger_sum(
        account__kind=LedgerAccount.Kind.ESCROW,
        currency=currency,
        entry__kind=entry_kind,
        **{f"account__{k}": v for k, v in account.items()},
    )


def platform_postings(*, kind: str, currency: str, entry_kind: str | None = None) -> Decimal:
    filters = {"account__kind": kind, "currency": currency}
    if entry_kind:
        filters["entry__kind"] = entry_kind
    return ledger_sum(**filters)


def escrows_held(currency: str) -> Decimal:
    return sum(
        LedgerAccount.objects.filter(kind=LedgerAccount.Kind.ESCROW, currency=currency).values_list(
            "balance", flat=True
        ),
        ZERO,
    )


def pdf_text(content: bytes) -> str:
    assert content[:5] == b"%PDF-"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


FUNDING = JournalEntry.Kind.ESCROW_FUNDING
REFUND = JournalEntry.Kind.ESCROW_REFUND
RELEASE = JournalEntry.Kind.ESCROW_RELEASE
