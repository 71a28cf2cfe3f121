"""Back office, read-only: clients as processor customers (made by the services when first needed),
and the webhook events as they arrived (what was received, when it was processed, and why it was
not acted on when it was not)."""

from django.contrib import admin

from processors.models import ProcessorCustomer, WebhookEvent


@admin.register(ProcessorCustomer)
class ProcessorCustomerAdmin(admin.ModelAdmin):
    list_display = ["user", "processor", "reference", "created_at"]
    list_filter = ["processor"]
    search_fields = ["user__email", "reference"]
    readonly_fields = ["user", "processor", "reference", "created_at"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "type", "event_id", "account", "deliveries", "processed_at", "outcome")
    list_filter = ("processor", ("processed_at", admin.EmptyFieldListFilter), "type")
    search_fields = ("=event_id", "=account", "type")
    date_hierarchy = "received_at"
    readonly_fields = [field.name for field in WebhookEvent._meta.fields]
