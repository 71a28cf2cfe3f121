"""Tasks posted by clients, offers (bids) made by taskers, and the timeline of both."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.urls import reverse
from djmoney.models.fields import MoneyField

from core.money import format_money


def _currency_choices() -> list[tuple[str, str]]:
    return [(code.upper(), code.upper()) for code in settings.HOLDFAST_CURRENCIES]


class TaskCategory(models.TextChoices):
    CLEANING = "cleaning", "Cleaning"
    MOVING = "moving", "Moving"
    HANDYMAN = "handyman", "Handyman"
    DELIVERY = "delivery", "Delivery"
    ASSEMBLY = "assembly", "Furniture assembly"
    GARDENING = "gardening", "Gardening"
    TECH = "tech", "Tech help"
    OTHER = "other", "Other"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    DELIVERED = "delivered", "Delivered"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class OfferStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


# The language the search vector stems words in ("mounting" finds "Mount a TV"). A query must
# be parsed with the same configuration (``marketplace.selectors``).
SEARCH_CONFIG = "english"


class Task(models.Model):
    Category = TaskCategory
    Status = TaskStatus

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tasks_posted")
    title = models.CharField(max_length=120)
    description = models.TextField(max_length=5000)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    budget = MoneyField(max_digits=14, decimal_places=2, default_currency=None, currency_choices=_currency_choices())
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    accepted_offer = models.OneToOneField(
        "marketplace.Offer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Kept by PostgreSQL itself, so every write path (ORM, admin, SQL) keeps it current. Words in
    # the title weigh more than words in the description when ranking.
    search_vector = models.GeneratedField(
        expression=SearchVector("title", weight="A", config=SEARCH_CONFIG)
        + SearchVector("description", weight="B", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(budget__gt=0), name="task_budget_positive"),
            models.CheckConstraint(condition=models.Q(status__in=TaskStatus.values), name="task_status_valid"),
            models.CheckConstraint(condition=models.Q(category__in=TaskCategory.values), name="task_category_valid"),
            # An assigned (or later) task always knows which offer it went to.
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "cancelled"]) | models.Q(accepted_offer__isnull=False),
                name="task_assigned_has_offer",
            ),
        ]
        indexes = [
            # Browsing only ever looks at open tasks, newest first, optionally by category or budget.
            # With the id (the order's tie-breaker), a page is read straight off the index.
            models.Index(fields=["-created_at", "-id"], condition=models.Q(status="open"), name="task_open_newest_idx"),
            models.Index(
                fields=["category", "-created_at", "-id"],
                condition=models.Q(status="open"),
                name="task_open_category_idx",
            ),
            models.Index(
                fields=["budget_currency", "budget"], condition=models.Q(status="open"), name="task_open_budget_idx"
            ),
            models.Index(fields=["client", "-created_at"], name="task_client_idx"),
            GinIndex(fields=["search_vector"], condition=models.Q(status="open"), name="task_open_search_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("marketplace:task_detail", kwargs={"pk": self.pk})

    @property
    def currency(self) -> str:
        return str(self.budget.currency)

    @property
    def assigned_tasker_id(self) -> int | None:
        return self.accepted_offer.tasker_id if self.accepted_offer_id else None


class Offer(models.Model):
    Status = OfferStatus

    LIVE_STATUSES = (OfferStatus.PENDING, OfferStatus.ACCEPTED)

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="offers")
    tasker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="offers_made")
    amount = MoneyField(max_digits=14, decimal_places=2, default_currency=None, currency_choices=_currency_choices())
    message = models.TextField(max_length=2000, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="offer_amount_positive"),
            models.CheckConstraint(condition=models.Q(status__in=OfferStatus.values), name="offer_status_valid"),
            # A tasker has at most one live bid per task; they may bid again after withdrawing.
            models.UniqueConstraint(
                fields=["task", "tasker"],
                condition=models.Q(status__in=["pending", "accepted"]),
                name="offer_one_live_per_tasker",
            ),
            # Whatever happens concurrently, a task never ends up with two accepted offers.
            models.UniqueConstraint(
                fields=["task"], condition=models.Q(status="accepted"), name="offer_one_accepted_per_task"
            ),
        ]
        indexes = [
            models.Index(fields=["tasker", "-created_at"], name="offer_tasker_idx"),
            # Browsing counts each listed task's pending offers (marketplace.selectors).
            models.Index(fields=["task"], condition=models.Q(status="pending"), name="offer_pending_task_idx"),
        ]

    def __str__(self) -> str:
        # Read in the back office: who offered what on which task, in the pages' money format.
        return f"{format_money(self.amount)} by {self.tasker.get_short_name()} on “{self.task.title}”"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES


class TaskEvent(models.Model):
    """One append-only row per status change of a task or of one of its offers.

    When ``offer`` is set the statuses are the offer's, otherwise the task's. The database
    refuses updates and deletes (trigger in the migration), so the timeline cannot be rewritten.
    """

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="events")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    reason = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["task", "created_at"], name="taskevent_task_idx")]

    def __str__(self) -> str:
        subject = f"offer {self.offer_id}" if self.offer_id else f"task {self.task_id}"
        return f"{subject}: {self.from_status or '—'} → {self.to_status}"

    @property
    def to_label(self) -> str:
        return self.to_status.replace("_", " ").capitalize()


class OpenTaskCount(models.Model):
    """How many tasks are open, per category and currency, kept by PostgreSQL triggers on
    ``marketplace_task`` (every write path: services, admin, SQL; see migration 0005).

    Browsing's page count reads these few rows instead of counting every open task, so it costs
    the same with a hundred open tasks or a million. Each category and currency has a few rows
    (``shard``, by the writing connection) that are summed, so concurrent posts do not queue on
    one row. Read through ``marketplace.selectors``; never written by Python.
    """

    category = models.CharField(max_length=20)
    currency = models.CharField(max_length=3)
    shard = models.SmallIntegerField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "currency", "shard"], name="opentaskcount_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.currency} #{self.shard}: {self.n}"
