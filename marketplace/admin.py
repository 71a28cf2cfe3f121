"""Back office for tasks and offers. Status and money are changed only through the services,
so here they are read-only; staff can correct wording (title, description, message)."""

from django.contrib import admin

from core.money import format_money
from marketplace.models import Offer, Task, TaskEvent


@admin.display(description="amount", ordering="amount")
def amount_shown(offer: Offer) -> str:
    return format_money(offer.amount)


@admin.display(description="budget", ordering="budget")
def budget_shown(task: Task) -> str:
    return format_money(task.budget)


class TaskEventInline(admin.TabularInline):
    model = TaskEvent
    fk_name = "task"
    extra = 0
    can_delete = False
    fields = ["created_at", "offer", "actor", "from_status", "to_status", "reason"]
    readonly_fields = fields
    ordering = ["created_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OfferInline(admin.TabularInline):
    model = Offer
    extra = 0
    can_delete = False
    fields = ["tasker", amount_shown, "status", "created_at"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "client", "category", budget_shown, "status", "created_at"]
    list_filter = ["status", "category", "budget_currency"]
    search_fields = ["title", "client__email"]
    date_hierarchy = "created_at"
    raw_id_fields = ["client", "accepted_offer"]
    list_select_related = ["client"]
    readonly_fields = [
        "client",
        budget_shown,
        "status",
        "accepted_offer",
        "created_at",
        "updated_at",
        "assigned_at",
        "started_at",
        "delivered_at",
        "completed_at",
        "cancelled_at",
    ]
    inlines = [OfferInline, TaskEventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "tasker", amount_shown, "status", "created_at"]
    list_filter = ["status", "task__category", "amount_currency"]
    search_fields = ["task__title", "task__client__email", "tasker__email"]
    date_hierarchy = "created_at"
    raw_id_fields = ["task", "tasker"]
    list_select_related = ["task", "tasker"]
    readonly_fields = [
        "task",
        "tasker",
        amount_shown,
        "status",
        "created_at",
        "updated_at",
        "accepted_at",
        "rejected_at",
        "withdrawn_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
