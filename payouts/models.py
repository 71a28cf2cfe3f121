"""Payout accounts (a tasker's connected account at the processor), payouts and their timelines.

A ``Payout`` moves part of a tasker's wallet to their bank: the ledger takes the amount out of the
wallet when it is requested (so it cannot be spent twice), the processor makes a transfer to the
tasker's connected account and a payout to their bank, and the bank's answer settles it (paid) or
returns the money to the wallet (failed). Every status change is one service in
``payouts.services`` that locks the row and writes a ``PayoutEvent``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class PayoutAccount(models.Model):
    """A tasker's account at the processor (Stripe Connect Express) and what it says about it."""

    class Status(models.TextChoices):
        ONBOARDING = "onboarding", "Details still to give"
        RESTRICTED = "restricted", "Stripe needs more information"
        ENABLED = "enabled", "Ready for payouts"

    class Schedule(models.TextChoices):
        MANUAL = "manual", "When I ask"
        WEEKLY = "weekly", "Every week"
        MONTHLY = "monthly", "Every month"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payout_account")
    processor = models.CharField(max_length=32, default="stripe")
    reference = models.CharField(max_length=255, unique=True, help_text="The processor's id (acct_…).")
    country = models.CharField(max_length=2)
    default_currency = models.CharField(max_length=3, blank=True)
    details_submitted = models.BooleanField(default=False)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    requirements_due = models.JSONField(default=list, blank=True)
    disabled_reason = models.CharField(max_length=100, blank=True)
    # Never the full number: what the tasker needs to recognise the account.
    bank_name = models.CharField(max_length=100, blank=True)
    bank_last4 = models.CharField(max_length=4, blank=True)
    bank_currency = models.CharField(max_length=3, blank=True)
    bank_reference = models.CharField(max_length=255, blank=True)
    # Set when a payout to the bank failed; cleared when the bank details change.
    bank_problem = models.CharField(max_length=500, blank=True)
    schedule = models.CharField(max_length=16, choices=Schedule.choices, default=Schedule.MANUAL)
    schedule_currency = models.CharField(max_length=3, blank=True)
    schedule_threshold = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    schedule_next_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    synced_at = models.DateTimeField(null=True, blank=True, help_text="Last read from the processor.")
    onboarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(schedule_threshold__gte=0), name="payout_account_threshold_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["schedule", "schedule_next_at"], name="payout_account_schedule_due")]

    def __str__(self) -> str:
        return f"{self.reference} ({self.user})"

    @property
    def status(self) -> str:
        if self.payouts_enabled and not self.disabled_reason:
            return self.Status.ENABLED
        if not self.details_submitted:
            return self.Status.ONBOARDING
        return self.Status.RESTRICTED

    def get_status_display(self) -> str:
        return self.Status(self.status).label

    @property
    def can_receive_payouts(self) -> bool:
        return self.status == self.Status.ENABLED


class Payout(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Waiting for approval"
        PROCESSING = "processing", "Processing"
        IN_TRANSIT = "in_transit", "On its way to the bank"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        ON_HOLD = "on_hold", "On hold"

    OPEN_STATUSES = (Status.REQUESTED, Status.PROCESSING, Status.ON_HOLD)

    class Waiting(models.TextChoices):
        NOTHING = "", "—"
        PLATFORM_FUNDS = "platform_funds", "Waiting for card funds to become available at Stripe"
        PROCESSOR_UNAVAILABLE = "processor_unavailable", "Stripe could not be reached; trying again"

    tasker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    account = models.ForeignKey(PayoutAccount, on_delete=models.PROTECT, related_name="payouts")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Taken from the wallet.")
    fee = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    net = models.DecimalField(max_digits=14, decimal_places=2, help_text="Sent to the bank.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    attempt = models.PositiveIntegerField(default=1, help_text="A retry after a failure is a new attempt.")
    # Transfers the processor refused for want of platform funds: each try after one needs a new
    # idempotency key (Stripe replays a key's first answer, refusals included).
    transfer_tries = models.PositiveIntegerField(default=0)
    # Set, and committed, just before a transfer request goes to the processor; cleared when its
    # answer is recorded. Still set with no transfer means the processor may have made it (a
    # worker killed mid-call, an answer lost): the payout cannot be cancelled until the next
    # execution asks again with the same key and learns which.
    transfer_sent_at = models.DateTimeField(null=True, blank=True)
    scheduled = models.BooleanField(default=False, help_text="Requested by the tasker's payout schedule.")
    approvals_required = models.PositiveSmallIntegerField(default=0)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    second_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    second_approved_at = models.DateTimeField(null=True, blank=True)
    hold_reason = models.CharField(max_length=500, blank=True)
    # The processor record of this attempt's transfer and bank payout (processors.ProcessorTransaction).
    transfer = models.ForeignKey(
        "processors.ProcessorTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    bank_payout = models.ForeignKey(
        "processors.ProcessorTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    waiting = models.CharField(max_length=32, choices=Waiting.choices, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When beat executes it again.")
    arrival_estimate = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    processing_at = models.DateTimeField(null=True, blank=True)
    in_transit_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("approve_payout", "Can approve, hold, retry and cancel payouts"),
            ("view_reconciliation", "Can read the reconciliation report"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0) & Q(net__gt=0), name="payout_fee_and_net_valid"),
            models.CheckConstraint(condition=Q(net=F("amount") - F("fee")), name="payout_net_is_amount_less_fee"),
            models.CheckConstraint(
                condition=Q(second_approved_by__isnull=True) | ~Q(second_approved_by=F("approved_by")),
                name="payout_two_different_approvers",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="payout_status_next"),
            models.Index(fields=["tasker", "currency", "status"], name="payout_tasker_currency"),
        ]

    def __str__(self) -> str:
        return f"Payout #{self.pk} ({self.amount} {self.currency}, {self.get_status_display()})"

    @property
    def approvals_given(self) -> int:
        return int(self.approved_by_id is not None) + int(self.second_approved_by_id is not None)

    @property
    def needs_approval(self) -> bool:
        return self.status == self.Status.REQUESTED and self.approvals_given < self.approvals_required


class PayoutEvent(models.Model):
    """The payout's timeline: who did what, when, from which status to which, and why."""

    class Kind(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        PROCESSING = "processing", "Sent for processing"
        WAITING = "waiting", "Waiting"
        TRANSFERRED = "transferred", "Transferred to the payout account"
        IN_TRANSIT = "in_transit", "Sent to the bank"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        MONEY_RETURNED = "money_returned", "Money returned to the wallet"
        RETRIED = "retried", "Retried"
        HELD = "held", "Put on hold"
        RELEASED = "released", "Hold released"
        CANCELLED = "cancelled", "Cancelled"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class PayoutSource(models.Model):
    """Which wallet credits (released escrows, oldest first) a payout attempt's money came from."""

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="sources")
    attempt = models.PositiveIntegerField()
    entry = models.ForeignKey("wallets.JournalEntry", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    # The credit's own time, kept so the statement reads in order without joining back.
    credited_at = models.DateTimeField()

    class Meta:
        ordering = ["credited_at", "entry_id"]
        constraints = [
            models.UniqueConstraint(fields=["payout", "attempt", "entry"], name="payout_source_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_source_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} from entry {self.entry_id}"


class ReconciliationRun(models.Model):
    """One comparison of Holdfast with the processor; its differences are listed, never "fixed"."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    payouts_checked = models.PositiveIntegerField(default=0)
    differences = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Reconciliation {self.started_at:%Y-%m-%d %H:%M} ({self.differences} difference(s))"

    @property
    def clean(self) -> bool:
        return self.differences == 0


class ReconciliationDifference(models.Model):
    class Kind(models.TextChoices):
        TRANSFER = "transfer", "Transfer"
        BANK_PAYOUT = "bank_payout", "Bank payout"
        PLATFORM_BALANCE = "platform_balance", "Platform balance"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    payout = models.ForeignKey(Payout, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3, blank=True)
    holdfast = models.CharField(max_length=200, help_text="What Holdfast has.")
    processor = models.CharField(max_length=200, help_text="What the processor has.")
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.message
