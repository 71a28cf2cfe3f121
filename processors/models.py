"""The processor record: one append-only row per thing a processor did or told us about.

Like saleor's ``TransactionEvent``: each row names the processor, its reference for the object
(``psp_reference``: a PaymentIntent, a refund), what happened (``kind``), the amount, and a unique
``idempotency_key``. Recording the same happening twice (a confirm call and its webhook both
reporting one decline; a webhook delivered twice) finds the first row by that key instead of
matching free text. The domain object it belongs to (an escrow) is a generic reference, since
this layer sits below the apps that own those objects. The database refuses updates and deletes.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class ProcessorTransaction(models.Model):
    class Kind(models.TextChoices):
        PAYMENT_STARTED = "payment_started", "Payment started"
        PAYMENT_ACTION_REQUIRED = "payment_action_required", "Authentication required"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        PAYMENT_SUCCEEDED = "payment_succeeded", "Payment succeeded"
        PAYMENT_RETURNED = "payment_returned", "Payment returned"
        PAYMENT_CANCELLED = "payment_cancelled", "Payment cancelled"
        REFUND = "refund", "Refund"
        TRANSFER = "transfer", "Transfer to a connected account"
        TRANSFER_REVERSAL = "transfer_reversal", "Transfer reversed"
        BANK_PAYOUT = "bank_payout", "Payout to a bank account"
        BANK_PAYOUT_PAID = "bank_payout_paid", "Payout paid"
        BANK_PAYOUT_FAILED = "bank_payout_failed", "Payout failed"
        WITHDRAWAL = "withdrawal", "Wallet withdrawal to card"

    processor = models.CharField(max_length=32)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    reference = models.CharField(max_length=255, help_text="The processor's id of the object (e.g. pi_…).")
    charge_reference = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=32, blank=True, help_text="The processor's status at the time.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    event_id = models.CharField(max_length=255, blank=True, help_text="The processor event that reported it.")
    idempotency_key = models.CharField(max_length=255, unique=True)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.CharField(max_length=64)
    subject = GenericForeignKey("subject_type", "subject_id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "kind"], name="proctx_subject_idx"),
            models.Index(fields=["processor", "reference"], name="proctx_reference_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference}"


class ProcessorCustomer(models.Model):
    """A client as a processor's customer (Stripe: a Customer), made the first time it is needed
    (a card to save, a checkout): their saved cards live with it at the processor. One per user
    and processor; the reference is never reused for another user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="processor_customers")
    processor = models.CharField(max_length=32)
    reference = models.CharField(max_length=255, help_text="The processor's id of the customer (e.g. cus_…).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "processor"], name="processor_customer_one_per_user"),
            models.UniqueConstraint(fields=["processor", "reference"], name="processor_customer_reference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.processor}) for {self.user}"


class WebhookEvent(models.Model):
    """A processor event as it arrived at the webhook endpoint, stored once by its id.

    The webhook request only verifies the signature, inserts this row (a second delivery of the
    same event finds it) and queues its processing; everything that reads from the processor or
    mirrors its objects happens in Celery: Holdfast's handler first (``processed_at``), then, a few
    seconds later and at a lower priority, dj-stripe's mirror (``mirrored_at``).
    """

    processor = models.CharField(max_length=32)
    event_id = models.CharField(max_length=255, help_text="The processor's id of the event (e.g. evt_…).")
    type = models.CharField(max_length=255)
    account = models.CharField(max_length=255, blank=True, help_text="The connected account it is about, if any.")
    endpoint = models.CharField(max_length=64, blank=True, help_text="The webhook endpoint it was delivered to.")
    payload = models.JSONField()
    received_at = models.DateTimeField()
    deliveries = models.PositiveIntegerField(default=1, help_text="How many times it was delivered.")
    processed_at = models.DateTimeField(null=True, blank=True, help_text="When Holdfast's handler had run.")
    mirrored_at = models.DateTimeField(null=True, blank=True, help_text="When dj-stripe had mirrored it.")
    outcome = models.CharField(max_length=500, blank=True, help_text="Why it was not acted on, when it was not.")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["processor", "event_id"], name="webhookevent_processor_event_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
