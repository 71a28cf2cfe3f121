from django.contrib import admin

from notifications.models import Notification, NotificationPreference


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: what each person was told, and whether the email went (support looks here)."""

    list_display = ["created", "recipient", "kind", "title", "read_at", "email_status"]
    list_filter = ["kind", "email_status", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["recipient__email", "title", "dedupe_key"]
    list_select_related = ["recipient"]
    date_hierarchy = "created"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "channel", "enabled"]
    list_filter = ["kind", "channel", "enabled"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
