"""Back office for escrows and fee policies.

Money is never edited here: every amount is read-only and every change goes through a service
(refund, force release, publishing a fee policy), which locks, checks the state, writes the
ledger and the escrow's timeline. Who may do what follows the staff groups: Finance refunds and
sets fees (``payments.refund_escrow``), Support forces releases (``payments.force_release_escrow``).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.contenttypes.admin import GenericTabularInline
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.timesince import timesince

from core.errors import ApplicationError
from payments import escrow as escrow_services
from payments import selectors, services
from payments.forms import RATE_FIELDS, FeePolicyAdminForm, ReasonForm, RefundForm
from payments.models import Escrow, EscrowEvent, EscrowRefund, FeePolicy, WalletTopUp, WalletWithdrawal
from processors.models import ProcessorTransaction

MONEY_FIELDS = [
    "currency",
    "amount",
    "client_fee",
    "commission",
    "tasker_net",
    "client_total",
    "refunded_amount",
    "released_to_tasker",
    "fee_policy",
]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EscrowEventInline(ReadOnlyInline):
    model = EscrowEvent
    verbose_name_plural = "timeline"
    fields = ["created_at", "kind", "actor", "from_status", "to_status", "amount", "reason"]
    readonly_fields = fields
    ordering = ["created_at", "id"]


class EscrowRefundInline(ReadOnlyInline):
    model = EscrowRefund
    fields = ["created_at", "amount", "status", "reason", "actor", "processor_reference", "failure_message"]
    readonly_fields = fields


class ProcessorTransactionInline(GenericTabularInline, ReadOnlyInline):
    """What the payment processor did for this escrow: each attempt, decline, success, refund."""

    model = ProcessorTransaction
    ct_field = "subject_type"
    ct_fk_field = "subject_id"
    verbose_name_plural = "processor record"
    fields = ["created_at", "processor", "kind", "reference", "charge_reference", "status", "amount", "failure_message"]
    readonly_fields = fields


class StaleFilter(admin.SimpleListFilter):
    title = "stale"
    parameter_name = "stale"

    def lookups(self, request, model_admin):
        return [("yes", "Funded long ago, not delivered")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(selectors.escrow_stale_q())
        return queryset


class AttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", "Money Stripe and Holdfast disagree on")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(events__kind=EscrowEvent.Kind.NEEDS_ATTENTION).distinct()
        return queryset


class ReleaseDueFilter(admin.SimpleListFilter):
    title = "release due"
    parameter_name = "release_due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("24h", "In the next 24 hours")]

    def queryset(self, request, queryset):
        now = timezone.now()
        funded = queryset.filter(status=Escrow.Status.FUNDED)
        if self.value() == "overdue":
            return funded.filter(release_due_at__lte=now)
        if self.value() == "24h":
            return funded.filter(release_due_at__gt=now, release_due_at__lte=now + timedelta(hours=24))
        return queryset


@admin.register(Escrow)
class EscrowAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "task",
        "client",
        "tasker",
        "status",
        "client_total",
        "currency",
        "funded_at",
        "release_due_at",
        "is_stale",
        "age",
    ]
    list_filter = ["status", "currency", "funding_source", StaleFilter, AttentionFilter, ReleaseDueFilter]
    search_fields = ["task__title", "client__email", "tasker__email", "payment__reference", "payment__charge_reference"]
    date_hierarchy = "created_at"
    list_select_related = ["task", "client", "tasker"]
    readonly_fields = [
        "task",
        "offer",
        "client",
        "tasker",
        "status",
        *MONEY_FIELDS,
        "review_window",
        "release_due_at",
        "payment",
        "payment_attempts",
        "created_at",
        "updated_at",
        "funded_at",
        "released_at",
        "refunded_at",
        "cancelled_at",
        "stale_flagged_at",
    ]
    inlines = [EscrowRefundInline, EscrowEventInline, ProcessorTransactionInline]
    actions = ["refund_in_full", "refund_part", "force_release"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Nothing on an escrow is edited by hand; the change page is for reading and actions.
        return False

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.refund_escrow")

    def has_force_release_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.force_release_escrow")

    @admin.display(boolean=True, description="stale")
    def is_stale(self, escrow: Escrow) -> bool:
        return selectors.escrow_is_stale(escrow=escrow)

    @admin.display(description="age", ordering="created_at")
    def age(self, escrow: Escrow) -> str:
        return timesince(escrow.created_at)

    # --- actions -----------------------------------------------------------------------------

    def _with_form(
        self,
        request: HttpRequest,
        queryset: QuerySet[Escrow],
        *,
        form_class,
        action: str,
        title: str,
        run,
        done: str,
    ) -> HttpResponse | None:
        """Ask for the action's details on an intermediate page, then run it escrow by escrow."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            for escrow in queryset:
                try:
                    result = run(escrow, form.cleaned_data)
                except ApplicationError as exc:
                    self.message_user(request, f"Escrow #{escrow.pk}: {exc.message}", messages.ERROR)
                else:
                    if isinstance(result, EscrowRefund) and result.status == EscrowRefund.Status.PENDING:
                        message = (
                            "refund asked for; Stripe reports it pending, and it is booked once Stripe confirms it."
                        )
                        self.message_user(request, f"Escrow #{escrow.pk}: {message}", messages.WARNING)
                    else:
                        self.message_user(request, f"Escrow #{escrow.pk}: {done}", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "form": form,
            "escrows": queryset,
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "payments/admin/escrow_action.html", context)

    @admin.action(description="Refund in full", permissions=["refund"])
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Escrow]):
        return self._with_form(
            request,
            queryset,
            form_class=ReasonForm,
            action="refund_in_full",
            title="Refund in full",
            run=lambda escrow, data: escrow_services.escrow_refund(
                escrow=escrow, amount=None, actor=request.user, reason=data["reason"]
            ),
            done="refunded in full.",
        )

    @admin.action(description="Refund part of the payment…", permissions=["refund"])
    def refund_part(self, request: HttpRequest, queryset: QuerySet[Escrow]):
        return self._with_form(
            request,
            queryset,
            form_class=RefundForm,
            action="refund_part",
            title="Refund part of the payment",
            run=lambda escrow, data: escrow_services.escrow_refund(
                escrow=escrow, amount=data["amount"], actor=request.user, reason=data["reason"]
            ),
            done="refund made.",
        )

    @admin.action(description="Force release to tasker", permissions=["force_release"])
    def force_release(self, request: HttpRequest, queryset: QuerySet[Escrow]):
        return self._with_form(
            request,
            queryset,
            form_class=ReasonForm,
            action="force_release",
            title="Force release to the tasker",
            run=lambda escrow, data: escrow_services.escrow_release(
                escrow=escrow, actor=request.user, reason=f"Released by Support: {data['reason']}"
            ),
            done="released to the tasker.",
        )


@admin.register(FeePolicy)
class FeePolicyAdmin(admin.ModelAdmin):
    """The fee editor. Saving never changes a version's numbers: it publishes a new version."""

    form = FeePolicyAdminForm
    list_display = ["currency", "version", "is_active", *RATE_FIELDS, "created_at", "created_by"]
    list_filter = ["currency", "is_active"]
    fields = ["currency", *RATE_FIELDS, "version", "is_active", "created_at", "created_by"]
    readonly_fields = ["version", "is_active", "created_at", "created_by"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "currency"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        rates = {field: form.cleaned_data[field] for field in RATE_FIELDS}
        published = services.fee_policy_publish(currency=obj.currency, actor=request.user, **rates)
        # The admin goes on to log and redirect for ``obj``: point it at the new version.
        obj.pk = published.pk
        obj.refresh_from_db()
        self.message_user(
            request, f"{published.currency} fee policy version {published.version} is now active.", messages.SUCCESS
        )


class WalletWithdrawalInline(ReadOnlyInline):
    model = WalletWithdrawal
    fields = ["created_at", "amount", "status", "actor", "processor_reference", "failure_message", "completed_at"]
    readonly_fields = fields


@admin.register(WalletTopUp)
class WalletTopUpAdmin(admin.ModelAdmin):
    """Clients' wallet top-ups and what went back to their cards. Read-only: the processor's word
    funds a top-up and withdrawals are the client's; the processor record shows every attempt."""

    list_display = ["id", "client", "amount", "currency", "status", "withdrawn_amount", "created_at", "funded_at"]
    list_filter = ["status", "currency"]
    search_fields = ["client__email", "payment__reference", "payment__charge_reference"]
    date_hierarchy = "created_at"
    list_select_related = ["client"]
    fields = [
        "client",
        "currency",
        "amount",
        "status",
        "withdrawn_amount",
        "payment",
        "payment_attempts",
        "last_payment_error",
        "created_at",
        "funded_at",
    ]
    readonly_fields = fields
    inlines = [WalletWithdrawalInline, ProcessorTransactionInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
