"""Escrow and fees.

An escrow's amounts are ``Decimal`` columns sharing one ``currency`` column (rather than one
django-money currency column per amount): an escrow never mixes currencies, and the database
can then check ``client_total = amount + client_fee`` and ``tasker_net = amount - commission``
directly. The ``*_money`` properties give ``Money`` values to the rest of the code.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from moneyed import Money

from payments.fees import FeeBreakdown, FeeRules

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class FeePolicy(models.Model):
    """What Holdfast charges, per currency. Versioned: a change is a new row, the old one is kept.

    Each escrow points at the version it was priced with and copies its figures, so editing the
    policy never changes an escrow that already exists.
    """

    currency = models.CharField(max_length=3)
    version = models.PositiveIntegerField(editable=False)
    is_active = models.BooleanField(default=True)
    client_fee_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("5.00"))
    client_fee_fixed = models.DecimalField(**AMOUNT, default=Decimal("0.00"))
    client_fee_min = models.DecimalField(**AMOUNT, default=Decimal("0.00"))
    client_fee_max = models.DecimalField(**AMOUNT, null=True, blank=True)
    commission_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("20.00"))
    commission_min = models.DecimalField(**AMOUNT, default=Decimal("0.00"))
    commission_max = models.DecimalField(**AMOUNT, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name_plural = "fee policies"
        ordering = ["currency", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "version"], name="feepolicy_version_unique"),
            models.UniqueConstraint(fields=["currency"], condition=Q(is_active=True), name="feepolicy_one_active"),
            models.CheckConstraint(
                condition=Q(client_fee_percent__gte=0, client_fee_percent__lte=100)
                & Q(commission_percent__gte=0, commission_percent__lte=100),
                name="feepolicy_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(client_fee_fixed__gte=0, client_fee_min__gte=0, commission_min__gte=0),
                name="feepolicy_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(client_fee_max__isnull=True) | Q(client_fee_max__gte=F("client_fee_min")),
                name="feepolicy_client_fee_range",
            ),
            models.CheckConstraint(
                condition=Q(commission_max__isnull=True) | Q(commission_max__gte=F("commission_min")),
                name="feepolicy_commission_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} v{self.version}: fee {self.client_fee_percent}%, commission {self.commission_percent}%"

    @property
    def rules(self) -> FeeRules:
        return FeeRules(
            client_fee_percent=self.client_fee_percent,
            client_fee_fixed=self.client_fee_fixed,
            client_fee_min=self.client_fee_min,
            client_fee_max=self.client_fee_max,
            commission_percent=self.commission_percent,
            commission_min=self.commission_min,
            commission_max=self.commission_max,
        )


class EscrowStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
    FUNDED = "funded", "Funded"
    RELEASED = "released", "Released"
    REFUNDED = "refunded", "Refunded"
    CANCELLED = "cancelled", "Cancelled"
    DISPUTED = "disputed", "Disputed"
    SPLIT = "split", "Split"


class Escrow(models.Model):
    Status = EscrowStatus

    task = models.ForeignKey("marketplace.Task", on_delete=models.PROTECT, related_name="escrows")
    # A task may have several escrows (milestones; a new offer after an unpaid one expired); an
    # offer has at most one (escrow_create returns it on a second call).
    offer = models.ForeignKey("marketplace.Offer", on_delete=models.PROTECT, related_name="escrows")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="escrows_as_client")
    tasker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="escrows_as_tasker")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING_PAYMENT, db_index=True)

    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT, help_text="The agreed price of the work.")
    client_fee = models.DecimalField(**AMOUNT, help_text="Service fee the client pays on top.")
    commission = models.DecimalField(**AMOUNT, help_text="Deducted from the amount, kept by Holdfast.")
    tasker_net = models.DecimalField(**AMOUNT, help_text="What the tasker receives: amount - commission.")
    client_total = models.DecimalField(**AMOUNT, help_text="What the client is charged: amount + service fee.")
    refunded_amount = models.DecimalField(**AMOUNT, default=Decimal("0.00"))
    released_to_tasker = models.DecimalField(**AMOUNT, default=Decimal("0.00"))
    fee_policy = models.ForeignKey(FeePolicy, on_delete=models.PROTECT, related_name="escrows")

    review_window = models.DurationField()
    release_due_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # The processor's record of the payment: the attempt checkout made, then the success that
    # funded the escrow (its charge reference is how refund events find the escrow).
    payment = models.ForeignKey(
        "processors.ProcessorTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payment_attempts = models.PositiveIntegerField(default=0)

    class FundingSource(models.TextChoices):
        CARD = "card", "Card"
        WALLET = "wallet", "Wallet"

    # Where the client's money came from, and so where refunds go back to: the card (a refund at
    # the processor) or the wallet (a ledger move, at once).
    funding_source = models.CharField(max_length=10, choices=FundingSource.choices, default=FundingSource.CARD)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    funded_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    stale_flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("refund_escrow", "Can refund an escrow"),
            ("force_release_escrow", "Can release an escrow to the tasker"),
        ]
        indexes = [models.Index(fields=["status", "release_due_at"], name="escrow_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(client_total=F("amount") + F("client_fee")), name="escrow_total_adds_up"
            ),
            models.CheckConstraint(condition=Q(tasker_net=F("amount") - F("commission")), name="escrow_net_adds_up"),
            models.CheckConstraint(
                condition=Q(amount__gt=0, client_fee__gte=0, commission__gte=0, tasker_net__gte=0),
                name="escrow_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("client_total")),
                name="escrow_refund_within_total",
            ),
            models.CheckConstraint(condition=Q(status__in=EscrowStatus.values), name="escrow_status_valid"),
            # Several escrows per task (milestones), one per offer.
            models.UniqueConstraint(fields=["offer"], name="escrow_one_per_offer"),
        ]

    def __str__(self) -> str:
        return f"Escrow #{self.pk} · {self.client_total} {self.currency} · {self.get_status_display()}"

    @property
    def held_amount(self) -> Decimal:
        if self.status in (self.Status.FUNDED, self.Status.DISPUTED):
            return self.client_total - self.refunded_amount
        return Decimal("0.00")

    @property
    def breakdown(self) -> FeeBreakdown:
        return FeeBreakdown(
            currency=self.currency,
            amount=self.amount,
            client_fee=self.client_fee,
            commission=self.commission,
            client_total=self.client_total,
            tasker_net=self.tasker_net,
            platform_revenue=self.client_fee + self.commission,
        )

    def money(self, field: str) -> Money:
        return Money(getattr(self, field), self.currency)


class EscrowEvent(models.Model):
    """The escrow's timeline: append-only, one row per thing that happened to it."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        PAYMENT_STARTED = "payment_started", "Payment started"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        PAYMENT_ACTION_REQUIRED = "payment_action_required", "Card authentication required"
        FUNDED = "funded", "Funded"
        DELIVERED = "delivered", "Work delivered: review window started"
        CHANGES_REQUESTED = "changes_requested", "Changes requested: review window stopped"
        RELEASED = "released", "Released to the tasker"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        CANCELLED = "cancelled", "Cancelled"
        STALE_FLAGGED = "stale_flagged", "Flagged to Support: funded but not delivered"
        STRIPE_CONFIRMED = "stripe_confirmed", "Confirmed by Stripe"
        PAYMENT_RETURNED = "payment_returned", "Payment returned to the client"
        NEEDS_ATTENTION = "needs_attention", "Needs Support's attention"
        DISPUTED = "disputed", "Held: disputed"
        UNFROZEN = "unfrozen", "Hold lifted"
        DISPUTE_STEP = "dispute_step", "Dispute"
        CHARGEBACK = "chargeback", "Card dispute (chargeback)"

    escrow = models.ForeignKey(Escrow, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class EscrowRefund(models.Model):
    """One refund to the client. Created before Stripe is asked, so its id keys the Stripe call."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    escrow = models.ForeignKey(Escrow, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**AMOUNT)
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    processor_reference = models.CharField(max_length=255, blank=True)
    # The client's part of a split ruling (holds.escrow_rule): carried out once, however often the
    # ruling is run again.
    for_ruling = models.BooleanField(default=False)
    failure_message = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="escrowrefund_amount_positive"),
            # One of our refunds per processor refund: a refund made outside Holdfast is taken in once.
            models.UniqueConstraint(
                fields=["processor_reference"],
                condition=~Q(processor_reference=""),
                name="escrowrefund_processor_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund #{self.pk} of {self.amount} ({self.status})"


class WalletTopUp(models.Model):
    """Money a client puts into their wallet by card, to pay escrows from at once later.

    Funded only by the processor's word that the payment succeeded (its webhook or the reconcile
    job), exactly like an escrow; the ledger then moves it from the processor balance to the
    client's wallet. What is not spent can be withdrawn back to the card it came from (a refund of
    this payment), never to another card: ``withdrawn_amount`` counts it.
    """

    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
        SUCCEEDED = "succeeded", "Added to the wallet"

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet_top_ups")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING_PAYMENT)
    withdrawn_amount = models.DecimalField(**AMOUNT, default=Decimal("0.00"))
    payment = models.ForeignKey(
        "processors.ProcessorTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payment_attempts = models.PositiveIntegerField(default=0)
    last_payment_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    funded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="wallettopup_amount_positive"),
            models.CheckConstraint(
                condition=Q(withdrawn_amount__gte=0) & Q(withdrawn_amount__lte=F("amount")),
                name="wallettopup_withdrawn_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(funded_at__isnull=False) | Q(withdrawn_amount=0), name="wallettopup_withdrawn_if_funded"
            ),
        ]

    def __str__(self) -> str:
        return f"Top-up #{self.pk} · {self.amount} {self.currency} · {self.get_status_display()}"

    @property
    def withdrawable(self) -> Decimal:
        """What may still go back to its card (the wallet's balance bounds it too)."""
        return self.amount - self.withdrawn_amount if self.status == self.Status.SUCCEEDED else Decimal("0.00")

    def money(self, field: str) -> Money:
        return Money(getattr(self, field), self.currency)


class WalletWithdrawal(models.Model):
    """Unused top-up money going back to the card it came from: a refund of that top-up's payment.

    Taken out of the wallet in the ledger first (so nothing can spend it meanwhile), then asked of
    the processor with the row's id as the key; a refusal puts it back, visibly.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Sent back to the card"
        FAILED = "failed", "Failed: back in the wallet"

    top_up = models.ForeignKey(WalletTopUp, on_delete=models.PROTECT, related_name="withdrawals")
    amount = models.DecimalField(**AMOUNT)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    processor_reference = models.CharField(max_length=255, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="walletwithdrawal_amount_positive"),
            # One withdrawal per processor refund: a refund made outside Holdfast is taken in once.
            models.UniqueConstraint(
                fields=["processor_reference"],
                condition=~Q(processor_reference=""),
                name="walletwithdrawal_processor_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Withdrawal #{self.pk} of {self.amount} ({self.status})"
