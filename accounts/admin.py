from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Profile, User


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    extra = 0


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["email", "name", "is_client", "is_tasker", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_active", "groups", "profile__is_client", "profile__is_tasker"]
    search_fields = ["email", "name", "profile__display_name"]
    inlines = [ProfileInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)
    readonly_fields = ["last_login", "date_joined"]

    @admin.display(boolean=True, description="Client")
    def is_client(self, obj):
        return getattr(getattr(obj, "profile", None), "is_client", False)

    @admin.display(boolean=True, description="Tasker")
    def is_tasker(self, obj):
        return getattr(getattr(obj, "profile", None), "is_tasker", False)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("profile")


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name", "is_client", "is_tasker", "headline", "created_at"]
    list_filter = ["is_client", "is_tasker"]
    search_fields = ["user__email", "display_name", "headline"]
    raw_id_fields = ["user"]
