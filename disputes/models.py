"""Disputes between a client and a tasker, and chargebacks (card disputes raised through the bank).

A ``Dispute`` holds one escrow (``payments.escrow.holds.escrow_freeze``) until it is ruled on,
settled by the parties or withdrawn. Its thread (``DisputeMessage``), files (``Evidence``) and
timeline (``DisputeEvent``) belong to it. A ``Chargeback`` mirrors a processor's dispute of the
escrow's charge; its ledger entries are keyed by its id, so a webhook delivered twice moves
nothing twice.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open: waiting for the other party"
        AWAITING_RESPONSE = "awaiting_response", "Awaiting a party's response to Support"
        UNDER_REVIEW = "under_review", "Under review by Support"
        RESOLVED = "resolved", "Resolved"
        WITHDRAWN = "withdrawn", "Withdrawn"

    ACTIVE = (Status.OPEN, Status.AWAITING_RESPONSE, Status.UNDER_REVIEW)

    class Reason(models.TextChoices):
        NOT_DELIVERED = "not_delivered", "The work was not delivered"
        NOT_AS_DESCRIBED = "not_as_described", "The work is not as described"
        QUALITY = "quality", "The quality of the work"
        CANCELLED = "cancelled", "Cancelled by the other party"
        CANCEL_REQUEST = "cancel_request", "The client asks to cancel after the work started"
        OTHER = "other", "Other"

    class Outcome(models.TextChoices):
        RELEASE = "release", "Released to the tasker"
        REFUND = "refund", "Refunded to the client"
        SPLIT = "split", "Split between them"

    escrow = models.ForeignKey("payments.Escrow", on_delete=models.PROTECT, related_name="disputes")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes_opened")
    reason = models.CharField(max_length=32, choices=Reason.choices)
    description = models.TextField(max_length=5000)
    amount_in_question = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    # The other party answers by respond_by; after it (or after a question from Support goes
    # unanswered) the dispute is in Support's queue anyway.
    respond_by = models.DateTimeField(db_index=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes_assigned"
    )

    # A settlement the parties propose to each other: the part of the held money that goes to the
    # tasker's side (the rest is refunded). Accepted by the other party, it is carried out as a ruling.
    settlement_tasker_amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    settlement_proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    settlement_proposed_at = models.DateTimeField(null=True, blank=True)

    # A ruling above DISPUTE_SECOND_APPROVAL_AMOUNT waits here for a second staff member.
    proposed_outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    proposed_client_refund = models.DecimalField(**AMOUNT, null=True, blank=True)
    proposed_reason = models.CharField(max_length=500, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # The ruling: claimed first (outcome set, resolved_at empty), then carried out on the escrow.
    # Once claimed, no other outcome can be ruled: exactly one outcome per dispute.
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    client_refund = models.DecimalField(**AMOUNT, null=True, blank=True)
    ruling_reason = models.CharField(max_length=500, blank=True)
    ruled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    by_agreement = models.BooleanField(default=False)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("rule_dispute", "Can rule on a dispute (release, refund, split)")]
        constraints = [
            # One active dispute per escrow: opening twice is refused by the database too.
            models.UniqueConstraint(
                fields=["escrow"],
                condition=Q(status__in=["open", "awaiting_response", "under_review"]),
                name="dispute_one_active_per_escrow",
            ),
            models.CheckConstraint(condition=Q(amount_in_question__gt=0), name="dispute_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Dispute #{self.pk} · escrow #{self.escrow_id} · {self.get_status_display()}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def other_party_id(self, user_id: int) -> int:
        escrow = self.escrow
        return escrow.tasker_id if user_id == escrow.client_id else escrow.client_id


class DisputeMessage(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=5000)
    from_support = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Message #{self.pk} on dispute #{self.dispute_id}"


def evidence_upload_to(instance: Evidence, filename: str) -> str:
    # The stored name is ours (a random token), never the uploader's: no path in it can escape.
    return f"disputes/{instance.dispute_id}/{instance.token}{instance.extension}"


class Evidence(models.Model):
    """A file either party (or Support) adds to a dispute. Served only through an authorised view."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="evidence")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=evidence_upload_to, max_length=255)
    token = models.CharField(max_length=32, unique=True)
    extension = models.CharField(max_length=8)
    original_name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "evidence"

    def __str__(self) -> str:
        return self.original_name


class DisputeEvent(models.Model):
    """The dispute's timeline: append-only."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        MESSAGE = "message", "Message"
        EVIDENCE = "evidence", "Evidence added"
        RESPONDED = "responded", "The other party responded"
        SETTLEMENT_PROPOSED = "settlement_proposed", "Settlement proposed"
        SETTLEMENT_ACCEPTED = "settlement_accepted", "Settlement accepted"
        ESCALATED = "escalated", "In Support's queue"
        ASSIGNED = "assigned", "Assigned"
        QUESTION = "question", "Support asked the parties"
        RULING_PROPOSED = "ruling_proposed", "Ruling proposed, waiting for a second approval"
        RULED = "ruled", "Ruled"
        WITHDRAWN = "withdrawn", "Withdrawn"

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class Chargeback(models.Model):
    """A card dispute the client raised with their bank, mirrored from the processor."""

    class Status(models.TextChoices):
        WARNING_NEEDS_RESPONSE = "warning_needs_response", "Inquiry: needs a response"
        WARNING_UNDER_REVIEW = "warning_under_review", "Inquiry: under review"
        WARNING_CLOSED = "warning_closed", "Inquiry closed"
        NEEDS_RESPONSE = "needs_response", "Needs a response"
        UNDER_REVIEW = "under_review", "Under review by the bank"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    CLOSED = (Status.WON, Status.LOST, Status.WARNING_CLOSED)

    processor = models.CharField(max_length=32)
    reference = models.CharField(max_length=255, unique=True, help_text="The processor's id (dp_…).")
    charge_reference = models.CharField(max_length=255, db_index=True)
    escrow = models.ForeignKey(
        "payments.Escrow", null=True, blank=True, on_delete=models.PROTECT, related_name="chargebacks"
    )
    status = models.CharField(max_length=32, choices=Status.choices)
    reason = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT)
    fee = models.DecimalField(**AMOUNT, default=Decimal("0.00"))
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    evidence_submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    # What the ledger has recorded (each step once; the amounts say what was held and where).
    funds_withdrawn_at = models.DateTimeField(null=True, blank=True)
    funds_reinstated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    escrow_was = models.CharField(
        max_length=20, blank=True, help_text="The escrow's status when the bank took the money."
    )
    froze_escrow = models.BooleanField(default=False)
    reserved_from_wallet = models.DecimalField(**AMOUNT, default=Decimal("0.00"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("respond_chargeback", "Can submit evidence for or accept a chargeback")]

    def __str__(self) -> str:
        return f"Chargeback {self.reference} · {self.amount} {self.currency} · {self.get_status_display()}"

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED


class ChargebackEvent(models.Model):
    """The chargeback's timeline: append-only."""

    chargeback = models.ForeignKey(Chargeback, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.created_at:%Y-%m-%d %H:%M})"
