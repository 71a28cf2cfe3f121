"""The double-entry ledger: accounts, journal entries and their postings.

Sign convention: a posting's ``amount`` is positive when it *credits* the account. Accounts that
hold money for someone (user wallets, escrows) and platform fee revenue therefore grow with
positive postings; asset-like accounts (processor balance, payouts in transit) and losses carry
negative balances. Every entry sums to zero per currency.

The rules that keep the ledger true are enforced by PostgreSQL (see migration 0002):
balanced entries (deferred constraint trigger), no zero postings, posting currency equal to the
account's currency, append-only postings and entries, non-negative wallet and escrow balances,
and balances that only the posting trigger can change.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Func, Q


class LedgerAccount(models.Model):
    class Kind(models.TextChoices):
        USER_WALLET = "user_wallet", "User wallet"
        ESCROW = "escrow", "Escrow"
        PLATFORM_FEE_REVENUE = "platform_fee_revenue", "Platform fee revenue"
        PROCESSOR_BALANCE = "processor_balance", "Processor balance"
        PAYOUTS_IN_TRANSIT = "payouts_in_transit", "Payouts in transit"
        CHARGEBACK_LOSSES = "chargeback_losses", "Chargeback losses"

    # Balances kept in the ``balance`` column (O(1) reads) and never allowed below zero.
    # Every other kind is platform-wide: its balance is derived from postings so that it never
    # becomes one hot row updated by every transaction.
    TRACKED_KINDS = frozenset({Kind.USER_WALLET, Kind.ESCROW})
    PLATFORM_KINDS = frozenset(
        {Kind.PLATFORM_FEE_REVENUE, Kind.PROCESSOR_BALANCE, Kind.PAYOUTS_IN_TRANSIT, Kind.CHARGEBACK_LOSSES}
    )

    kind = models.CharField(max_length=32, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    # Owner: a user (wallets), any domain object (escrows), or nobody (the platform).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    owner_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    owner_id = models.CharField(max_length=64, null=True, blank=True)
    owner = GenericForeignKey("owner_type", "owner_id")
    # For escrows: who paid in and who will be paid, so wallets can show money held and pending.
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="escrow_accounts_as_client",
    )
    tasker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="escrow_accounts_as_tasker",
    )
    # Maintained by the posting trigger for TRACKED_KINDS; always 0 for platform accounts.
    balance = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"), editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "currency", "user", "owner_type", "owner_id"],
                nulls_distinct=False,
                name="ledger_account_unique_per_owner",
            ),
            models.CheckConstraint(
                condition=(Q(kind__in=["user_wallet", "escrow"]) & Q(balance__gte=0))
                | (~Q(kind__in=["user_wallet", "escrow"]) & Q(balance=0)),
                name="ledger_account_balance_never_negative",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="user_wallet", user__isnull=False, owner_type__isnull=True, owner_id__isnull=True)
                    | Q(kind="escrow", user__isnull=True, owner_type__isnull=False, owner_id__isnull=False)
                    | (
                        ~Q(kind__in=["user_wallet", "escrow"])
                        & Q(user__isnull=True, owner_type__isnull=True, owner_id__isnull=True)
                    )
                ),
                name="ledger_account_owner_matches_kind",
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="ledger_account_currency_code"),
        ]
        indexes = [
            models.Index(fields=["client", "currency"], name="ledger_account_client"),
            models.Index(fields=["tasker", "currency"], name="ledger_account_tasker"),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.USER_WALLET:
            return f"Wallet of {self.user} ({self.currency})"
        if self.kind == self.Kind.ESCROW:
            return f"Escrow {self.owner_id} ({self.currency})"
        return f"{self.get_kind_display()} ({self.currency})"

    @property
    def tracks_balance(self) -> bool:
        return self.kind in self.TRACKED_KINDS


class JournalEntry(models.Model):
    """One business event. Append-only; its postings sum to zero per currency."""

    class Kind(models.TextChoices):
        ESCROW_FUNDING = "escrow_funding", "Escrow funded"
        ESCROW_RELEASE = "escrow_release", "Escrow released"
        ESCROW_REFUND = "escrow_refund", "Escrow refunded"
        PAYOUT = "payout", "Payout"
        PAYOUT_PAID = "payout_paid", "Payout paid"
        PAYOUT_REVERSAL = "payout_reversal", "Payout reversed"
        CHARGEBACK = "chargeback", "Chargeback"
        CHARGEBACK_REVERSAL = "chargeback_reversal", "Chargeback reversed"
        ADJUSTMENT = "adjustment", "Adjustment"
        WALLET_TOP_UP = "wallet_top_up", "Wallet top-up"
        WALLET_PAYMENT = "wallet_payment", "Paid from wallet"
        WALLET_WITHDRAWAL = "wallet_withdrawal", "Withdrawn to card"

    idempotency_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The domain object this entry is about: a readable label ("payments.escrow:42") always,
    # and a generic reference when a model instance was given.
    reference = models.CharField(max_length=200, blank=True)
    reference_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reference_id = models.CharField(max_length=64, null=True, blank=True)
    reference_object = GenericForeignKey("reference_type", "reference_id")
    memo = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="journal_entries"
    )
    created_at = models.DateTimeField(db_default=Func(function="transaction_timestamp"), editable=False)
    # The PostgreSQL transaction that created the entry: postings may only be added in that one.
    transaction_id = models.BigIntegerField(db_default=Func(function="txid_current"), editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "journal entries"
        indexes = [models.Index(fields=["reference_type", "reference_id"], name="journal_entry_reference")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} ({self.idempotency_key})"


class Posting(models.Model):
    """One line of an entry: a signed amount (positive credits the account). Never updated or deleted."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings", db_index=False)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    # The account's balance right after this posting (tracked accounts; set by the trigger).
    balance_after = models.DecimalField(max_digits=18, decimal_places=2, null=True, editable=False)
    created_at = models.DateTimeField(db_default=Func(function="transaction_timestamp"), editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="posting_amount_not_zero")]
        indexes = [models.Index(fields=["account", "id"], name="posting_account_id")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} -> account {self.account_id}"
