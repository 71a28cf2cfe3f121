"""Factories for ledger accounts, and a helper to put money in a wallet or escrow the way the app does."""

from __future__ import annotations

import itertools
from decimal import Decimal

import factory

from accounts.tests.factories import UserFactory
from wallets import services
from wallets.models import JournalEntry, LedgerAccount

_keys = itertools.count(1)


class WalletAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LedgerAccount
        django_get_or_create = ("kind", "currency", "user")

    kind = LedgerAccount.Kind.USER_WALLET
    currency = "USD"
    user = factory.SubFactory(UserFactory)


class EscrowAccountFactory(factory.django.DjangoModelFactory):
    """An escrow account owned by a stand-in domain object (the client's User row) until Escrow exists."""

    class Meta:
        model = LedgerAccount

    kind = LedgerAccount.Kind.ESCROW
    currency = "USD"
    client = factory.SubFactory(UserFactory)
    tasker = factory.SubFactory(UserFactory)
    owner_type = factory.LazyFunction(
        lambda: __import__("django.contrib.contenttypes.models", fromlist=["ContentType"]).ContentType.objects.get(
            app_label="accounts", model="user"
        )
    )
    owner_id = factory.Sequence(lambda n: f"test-escrow-{n}")


def fund(account: LedgerAccount, amount: Decimal | str, *, key: str | None = None) -> JournalEntry:
    """Credit ``account`` from the processor balance, as a captured card payment would."""
    processor = services.platform_account(kind=LedgerAccount.Kind.PROCESSOR_BALANCE, currency=account.currency)
    amount = Decimal(amount)
    return services.ledger_post(
        idempotency_key=key or f"test-fund-{next(_keys)}-{account.pk}",
        kind=JournalEntry.Kind.ESCROW_FUNDING
        if account.kind == LedgerAccount.Kind.ESCROW
        else JournalEntry.Kind.ADJUSTMENT,
        reference=f"test:{account.pk}",
        lines=[(processor, -amount), (account, amount)],
        actor=None,
    )
