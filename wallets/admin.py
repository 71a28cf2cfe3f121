"""Back office: the ledger is read-only for everyone, superusers included."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from wallets import selectors
from wallets.models import JournalEntry, LedgerAccount, Posting


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ["account", "currency", "amount", "balance_after", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account", "account__user")


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "kind", "reference", "idempotency_key", "actor", "memo"]
    list_filter = ["kind", "created_at"]
    search_fields = ["idempotency_key", "reference", "memo", "actor__email"]
    date_hierarchy = "created_at"
    inlines = [PostingInline]
    list_select_related = ["actor"]
    show_full_result_count = False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "__str__", "kind", "currency", "balance_display", "client", "tasker", "statement_link"]
    list_filter = ["kind", "currency"]
    search_fields = ["user__email", "client__email", "tasker__email", "owner_id"]
    list_select_related = ["user", "client", "tasker"]
    readonly_fields = ["balance_display", "statement_link"]

    @admin.display(description="Balance")
    def balance_display(self, obj: LedgerAccount):
        balance = obj.balance if obj.tracks_balance else selectors.account_balance(account=obj)
        return f"{balance} {obj.currency}"

    @admin.display(description="Statement")
    def statement_link(self, obj: LedgerAccount):
        url = reverse("admin:wallets_ledgeraccount_statement", args=[obj.pk])
        return format_html('<a href="{}">Statement</a>', url)

    def get_urls(self):
        statement = self.admin_site.admin_view(self.statement_view)
        return [path("<int:pk>/statement/", statement, name="wallets_ledgeraccount_statement"), *super().get_urls()]

    def statement_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        account = get_object_or_404(LedgerAccount, pk=pk)
        kind = request.GET.get("kind") or None
        postings = selectors.account_statement(account=account, kind=kind)
        page = Paginator(postings, 50).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Statement: {account}",
            "account": account,
            "balance": selectors.account_balance(account=account),
            "rows": selectors.statement_rows(account=account, postings=page.object_list),
            "page": page,
            "kinds": JournalEntry.Kind.choices,
            "kind": kind or "",
        }
        return TemplateResponse(request, "wallets/admin_statement.html", context)
