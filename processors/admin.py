"""Back office: the webhook events as they arrived, read-only (what was received, when it was
processed, and why it was not acted on when it was not)."""

from django.contrib import admin

from processors.models import WebhookEvent


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "type", "event_id", "account", "deliveries", "processed_at", "outcome")
    list_filter = ("processor", ("processed_at", admin.EmptyFieldListFilter), "type")
    search_fields = ("=event_id", "=account", "type")
    date_hierarchy = "received_at"
    readonly_fields = [field.name for field in WebhookEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
