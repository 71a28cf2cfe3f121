"""Reporting's own tables: a daily roll-up of the ledger, kept by a beat job.

Why a roll-up and not a query over the postings each time: a month of the revenue dashboard at a
million escrows is hundreds of thousands of postings to join and sum; the roll-up makes it a few
hundred rows. Why kept by a beat job and not by the posting transaction: the rows are per day and
currency, so every payment would update the same few rows (the hot row the ledger is designed to
avoid). Why the figures are still exact to the cent at any moment: the roll-up holds the postings
made before ``RollupState.covered_until`` (an instant before which every posting is committed,
``wallets.selectors.ledger_settled_before``), and the dashboard adds the postings made since, read
live (``reporting.selectors.revenue``). A refresh adds only what is new.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class LedgerDay(models.Model):
    """The postings of one day (``TIME_ZONE``), currency, account kind and entry kind, summed."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    account_kind = models.CharField(max_length=32)
    entry_kind = models.CharField(max_length=32)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))
    postings = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "revenue dashboard"
        verbose_name_plural = "revenue dashboard"
        default_permissions = ()
        permissions = [
            ("view_revenue_dashboard", "Can see the platform's revenue dashboard"),
            ("search_transactions", "Can search every client's and tasker's transactions"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "currency", "account_kind", "entry_kind"], name="reporting_ledgerday_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.currency} {self.account_kind}/{self.entry_kind}: {self.amount}"


class TransactionSearch(LedgerDay):
    """The back office's transaction search (an admin page; no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "transaction search"
        verbose_name_plural = "transaction search"
        default_permissions = ()


class FeeDay(models.Model):
    """Client fees kept by the releases of one day and currency: fee revenue minus this is commission."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    client_fees = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "currency"], name="reporting_feeday_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}: {self.client_fees}"


class RollupState(models.Model):
    """One row: the roll-ups hold every posting (and release) made before ``covered_until``."""

    covered_until = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Roll-up up to {self.covered_until}"
