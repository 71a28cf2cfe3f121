"""Back office: clients as processor customers (read-only; made by the services when first needed)."""

from django.contrib import admin

from processors.models import ProcessorCustomer


@admin.register(ProcessorCustomer)
class ProcessorCustomerAdmin(admin.ModelAdmin):
    list_display = ["user", "processor", "reference", "created_at"]
    list_filter = ["processor"]
    search_fields = ["user__email", "reference"]
    readonly_fields = ["user", "processor", "reference", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
