"""The payout console (Finance acts, Support reads) and the reconciliation report.

Money is never edited here: every amount is read-only, and every action calls a service that
locks the payout, checks its state, writes the ledger and the timeline. Finance has
``payouts.approve_payout`` (approve, second-approve, hold, release, retry, cancel); Support has
the view permissions only, so it sees the console without its actions.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.contenttypes.admin import GenericTabularInline
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from core.errors import ApplicationError
from core.money import format_money
from payouts import services
from payouts.forms import ReasonForm
from payouts.models import Payout, PayoutAccount, PayoutEvent, PayoutSource, ReconciliationDifference, ReconciliationRun
from processors.models import ProcessorTransaction
from wallets.selectors import entries_describe


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Whoever may read the payout reads its timeline, statement and processor record with it.
        return request.user.has_perm("payouts.view_payout")


class PayoutEventInline(ReadOnlyInline):
    model = PayoutEvent
    verbose_name_plural = "timeline"
    fields = ["created_at", "kind", "actor", "from_status", "to_status", "reason"]
    readonly_fields = fields
    ordering = ["created_at", "id"]


class PayoutSourceInline(ReadOnlyInline):
    model = PayoutSource
    verbose_name_plural = "statement: where the money came from (oldest first)"
    fields = ["credited_at", "came_from", "amount", "attempt"]
    readonly_fields = fields

    @admin.display(description="for")
    def came_from(self, source: PayoutSource) -> str:
        label, url = entries_describe(entries=[source.entry])[source.entry_id]
        return format_html('<a href="{}">{}</a>', url, label) if url else label


class ProcessorTransactionInline(GenericTabularInline, ReadOnlyInline):
    model = ProcessorTransaction
    ct_field = "subject_type"
    ct_fk_field = "subject_id"
    verbose_name_plural = "processor record (transfers, bank payouts, reversals)"
    fields = ["created_at", "processor", "kind", "reference", "status", "amount", "currency", "event_id"]
    readonly_fields = fields


class NeedsApprovalFilter(admin.SimpleListFilter):
    title = "needs approval"
    parameter_name = "approval"

    def lookups(self, request, model_admin):
        return [("yes", "Waiting for approval"), ("second", "Waiting for a second approval")]

    def queryset(self, request, queryset):
        waiting = queryset.filter(status=Payout.Status.REQUESTED)
        if self.value() == "yes":
            return waiting
        if self.value() == "second":
            return waiting.filter(approvals_required=2, approved_by__isnull=False, second_approved_by__isnull=True)
        return queryset


class AttentionFilter(admin.SimpleListFilter):
    title = "problems"
    parameter_name = "problem"

    def lookups(self, request, model_admin):
        return [
            ("failed", "Failed"),
            ("waiting", "Waiting (platform funds, Stripe unreachable)"),
            ("attention", "Needs attention"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            return queryset.filter(status=Payout.Status.FAILED)
        if self.value() == "waiting":
            return queryset.exclude(waiting="")
        if self.value() == "attention":
            return queryset.filter(events__kind=PayoutEvent.Kind.NEEDS_ATTENTION).distinct()
        return queryset


class AmountFilter(admin.SimpleListFilter):
    title = "amount"
    parameter_name = "amount"
    BANDS = [("0-100", 0, 100), ("100-1000", 100, 1000), ("1000-5000", 1000, 5000), ("5000-", 5000, None)]

    def lookups(self, request, model_admin):
        return [(key, f"{low:,} – {high:,}" if high else f"over {low:,}") for key, low, high in self.BANDS]

    def queryset(self, request, queryset):
        for key, low, high in self.BANDS:
            if self.value() == key:
                queryset = queryset.filter(amount__gte=Decimal(low))
                return queryset.filter(amount__lt=Decimal(high)) if high else queryset
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [("1d", "Older than a day"), ("3d", "Older than 3 days"), ("7d", "Older than a week")]

    def queryset(self, request, queryset):
        days = {"1d": 1, "3d": 3, "7d": 7}.get(self.value() or "")
        if days:
            return queryset.filter(requested_at__lte=timezone.now() - timedelta(days=days))
        return queryset


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "tasker",
        "status",
        "shown_amount",
        "shown_net",
        "approvals",
        "waiting",
        "requested_at",
        "age",
    ]
    list_filter = ["status", "currency", NeedsApprovalFilter, AttentionFilter, AmountFilter, AgeFilter]
    search_fields = [
        "tasker__email",
        "tasker__name",
        "account__reference",
        "transfer__reference",
        "bank_payout__reference",
    ]
    list_select_related = ["tasker", "account"]
    date_hierarchy = "requested_at"
    readonly_fields = [
        "tasker",
        "account",
        "status",
        "currency",
        "amount",
        "fee",
        "net",
        "attempt",
        "scheduled",
        "approvals_required",
        "approved_by",
        "approved_at",
        "second_approved_by",
        "second_approved_at",
        "hold_reason",
        "transfer",
        "bank_payout",
        "waiting",
        "next_attempt_at",
        "arrival_estimate",
        "failure_code",
        "failure_message",
        "requested_at",
        "processing_at",
        "in_transit_at",
        "paid_at",
        "failed_at",
        "cancelled_at",
    ]
    inlines = [PayoutSourceInline, PayoutEventInline, ProcessorTransactionInline]
    actions = ["approve", "second_approve", "hold", "release_hold", "retry", "cancel"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payouts.approve_payout")

    @admin.display(description="amount", ordering="amount")
    def shown_amount(self, payout: Payout) -> str:
        return format_money(payout.amount, payout.currency)

    @admin.display(description="to the bank", ordering="net")
    def shown_net(self, payout: Payout) -> str:
        return format_money(payout.net, payout.currency)

    @admin.display(description="approvals")
    def approvals(self, payout: Payout) -> str:
        return f"{payout.approvals_given}/{payout.approvals_required}" if payout.approvals_required else "—"

    @admin.display(description="age", ordering="requested_at")
    def age(self, payout: Payout) -> str:
        return timesince(payout.requested_at)

    def _run(self, request, queryset, run, done: str) -> None:
        for payout in queryset:
            try:
                run(payout)
            except ApplicationError as exc:
                self.message_user(request, f"Payout #{payout.pk}: {exc.message}", messages.ERROR)
            else:
                payout.refresh_from_db()
                self.message_user(
                    request, f"Payout #{payout.pk}: {done} Now {payout.get_status_display().lower()}.", messages.SUCCESS
                )

    def _with_reason(self, request, queryset: QuerySet[Payout], *, action: str, title: str, run, done: str):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._run(request, queryset, lambda p: run(p, form.cleaned_data["reason"]), done)
            return None
        return TemplateResponse(
            request,
            "payouts/admin/payout_action.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.model._meta,
                "form": form,
                "payouts": queryset,
                "action": action,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Approve", permissions=["approve"])
    def approve(self, request, queryset):
        self._run(request, queryset, lambda p: services.payout_approve(payout=p, actor=request.user), "approved.")

    @admin.action(description="Second approval (a different Finance user)", permissions=["approve"])
    def second_approve(self, request, queryset):
        for payout in queryset:
            if payout.approvals_required < 2 or payout.approved_by_id is None:
                self.message_user(
                    request, f"Payout #{payout.pk}: it is not waiting for a second approval.", messages.ERROR
                )
                continue
            self._run(
                request,
                [payout],
                lambda p: services.payout_approve(payout=p, actor=request.user),
                "second approval given.",
            )

    @admin.action(description="Hold (with a reason)…", permissions=["approve"])
    def hold(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            action="hold",
            title="Hold payouts",
            run=lambda p, reason: services.payout_hold(payout=p, actor=request.user, reason=reason),
            done="held.",
        )

    @admin.action(description="Release the hold", permissions=["approve"])
    def release_hold(self, request, queryset):
        self._run(request, queryset, lambda p: services.payout_release_hold(payout=p, actor=request.user), "released.")

    @admin.action(description="Retry a failed payout", permissions=["approve"])
    def retry(self, request, queryset):
        self._run(request, queryset, lambda p: services.payout_retry(payout=p, actor=request.user), "sent again.")

    @admin.action(description="Cancel / refuse (money back to the wallet)…", permissions=["approve"])
    def cancel(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            action="cancel",
            title="Cancel payouts (the money goes back to the wallet)",
            run=lambda p, reason: services.payout_cancel(payout=p, actor=request.user, reason=reason),
            done="cancelled; the money is back in the wallet.",
        )


@admin.register(PayoutAccount)
class PayoutAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "reference", "account_status", "bank", "schedule", "synced_at"]
    list_filter = ["payouts_enabled", "details_submitted", "schedule"]
    search_fields = ["user__email", "reference"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="status")
    def account_status(self, account: PayoutAccount) -> str:
        return account.get_status_display()

    @admin.display(description="bank")
    def bank(self, account: PayoutAccount) -> str:
        return f"{account.bank_name} ····{account.bank_last4}" if account.bank_last4 else "—"


class ReconciliationDifferenceInline(ReadOnlyInline):
    model = ReconciliationDifference
    verbose_name_plural = "differences (flagged; nothing was changed)"
    fields = ["kind", "payout", "currency", "holdfast", "processor", "message"]
    readonly_fields = fields


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    """The reconciliation report: each daily run (or ``manage.py reconcile``) and what differed."""

    list_display = ["started_at", "payouts_checked", "differences", "is_clean", "summary"]
    list_filter = ["differences"]
    change_list_template = "payouts/admin/reconciliation_change_list.html"
    readonly_fields = ["started_at", "finished_at", "payouts_checked", "differences", "summary"]
    inlines = [ReconciliationDifferenceInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("payouts.view_reconciliation") or super().has_view_permission(request, obj)

    @admin.display(boolean=True, description="agrees")
    def is_clean(self, run: ReconciliationRun) -> bool:
        return run.clean

    def get_urls(self):
        from django.urls import path

        return [
            path("run/", self.admin_site.admin_view(self.run_now), name="payouts_reconciliationrun_run"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        can_run = request.user.has_perm("payouts.view_reconciliation")
        return super().changelist_view(request, {**(extra_context or {}), "can_run": can_run})

    def run_now(self, request: HttpRequest):
        """Finance compares Holdfast with Stripe now (as the daily job does) and reads the result."""
        from django.core.exceptions import PermissionDenied
        from django.shortcuts import redirect

        if request.method != "POST" or not request.user.has_perm("payouts.view_reconciliation"):
            raise PermissionDenied
        try:
            run = services.payouts_reconcile()
        except ApplicationError as exc:
            self.message_user(request, f"Stripe could not be asked: {exc.message}", messages.ERROR)
            return redirect("admin:payouts_reconciliationrun_changelist")
        self.message_user(request, run.summary, messages.WARNING if run.differences else messages.SUCCESS)
        return redirect("admin:payouts_reconciliationrun_change", run.pk)
