"""The back office for disputes (Support's console) and chargebacks (under Finance).

Nothing here writes money or a status by hand: every button calls a service (assign, ask the
parties, rule — with a second approval above ``DISPUTE_SECOND_APPROVAL_AMOUNT`` —, submit a
chargeback's evidence, accept it), which checks who may and what state allows it. The dispute's
page shows the escrow's breakdown and both timelines, the thread and the evidence inline.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from core.errors import ApplicationError
from disputes import selectors, services
from disputes.models import Chargeback, ChargebackEvent, Dispute, DisputeEvent, DisputeMessage, Evidence
from disputes.services.chargebacks import FILE_FIELDS, TEXT_FIELDS
from disputes.services.common import can_rule, is_support


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MessageInline(ReadOnlyInline):
    model = DisputeMessage
    verbose_name_plural = "messages"
    fields = ["created_at", "author", "from_support", "body"]
    readonly_fields = fields


class EvidenceInline(ReadOnlyInline):
    model = Evidence
    verbose_name_plural = "evidence"
    fields = ["created_at", "uploaded_by", "download", "content_type", "size", "description"]
    readonly_fields = fields

    @admin.display(description="file")
    def download(self, evidence: Evidence) -> str:
        url = reverse("disputes:evidence_download", args=[evidence.dispute_id, evidence.pk])
        return format_html('<a href="{}">{}</a>', url, evidence.original_name)


class DisputeEventInline(ReadOnlyInline):
    model = DisputeEvent
    verbose_name_plural = "dispute timeline"
    fields = ["created_at", "kind", "actor", "from_status", "to_status", "amount", "note"]
    readonly_fields = fields


class DeadlineFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("passed", "Response deadline passed"), ("24h", "Due in the next 24 hours")]

    def queryset(self, request, queryset):
        now = timezone.now()
        waiting = queryset.filter(status__in=(Dispute.Status.OPEN, Dispute.Status.AWAITING_RESPONSE))
        if self.value() == "passed":
            return waiting.filter(respond_by__lte=now)
        if self.value() == "24h":
            return waiting.filter(respond_by__gt=now, respond_by__lte=now + timedelta(hours=24))
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = "assignee"
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        return [("me", "Assigned to me"), ("none", "Unassigned"), ("approval", "Ruling awaits a second approval")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assignee=request.user)
        if self.value() == "none":
            return queryset.filter(assignee__isnull=True)
        if self.value() == "approval":
            return queryset.exclude(proposed_outcome="").filter(outcome="")
        return queryset


class AmountFilter(admin.SimpleListFilter):
    title = "amount in question"
    parameter_name = "amount"

    def lookups(self, request, model_admin):
        limit = settings.DISPUTE_SECOND_APPROVAL_AMOUNT
        return [("small", "Up to 100"), ("medium", f"100 to {limit}"), ("large", f"Above {limit} (two approvals)")]

    def queryset(self, request, queryset):
        limit = settings.DISPUTE_SECOND_APPROVAL_AMOUNT
        if self.value() == "small":
            return queryset.filter(amount_in_question__lte=Decimal("100"))
        if self.value() == "medium":
            return queryset.filter(amount_in_question__gt=Decimal("100"), amount_in_question__lte=limit)
        if self.value() == "large":
            return queryset.filter(amount_in_question__gt=limit)
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [("3d", "Older than 3 days"), ("7d", "Older than a week")]

    def queryset(self, request, queryset):
        days = {"3d": 3, "7d": 7}.get(self.value() or "")
        return queryset.filter(created_at__lte=timezone.now() - timedelta(days=days)) if days else queryset


class RulingForm(forms.Form):
    outcome = forms.ChoiceField(choices=Dispute.Outcome.choices)
    client_refund = forms.CharField(required=False, help_text="For a split: what goes back to the client.")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=500, help_text="Both parties read it."
    )


class QuestionForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="Ask the parties")


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    change_form_template = "disputes/admin/dispute_change_form.html"
    list_display = [
        "id",
        "task",
        "reason",
        "status",
        "amount_in_question",
        "currency",
        "respond_by",
        "deadline_passed",
        "assignee",
        "age",
        "awaiting_approval",
    ]
    list_filter = ["status", "reason", DeadlineFilter, AssigneeFilter, AmountFilter, AgeFilter, "currency"]
    search_fields = ["escrow__task__title", "escrow__client__email", "escrow__tasker__email", "description"]
    list_select_related = ["escrow__task", "assignee"]
    ordering = ["respond_by"]
    readonly_fields = [
        "escrow_link",
        "opened_by",
        "reason",
        "description",
        "amount_in_question",
        "currency",
        "status",
        "respond_by",
        "responded_at",
        "escalated_at",
        "assignee",
        "settlement_tasker_amount",
        "settlement_proposed_by",
        "proposed_outcome",
        "proposed_client_refund",
        "proposed_reason",
        "proposed_by",
        "outcome",
        "client_refund",
        "ruling_reason",
        "ruled_by",
        "approved_by",
        "by_agreement",
        "created_at",
        "resolved_at",
        "withdrawn_at",
    ]
    exclude = ["escrow", "settlement_proposed_at"]
    inlines = [MessageInline, EvidenceInline, DisputeEventInline]
    actions = ["assign_to_me"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read here; every change is a button that calls a service

    def has_assign_permission(self, request: HttpRequest) -> bool:
        return is_support(request.user)

    @admin.display(description="task", ordering="escrow__task__title")
    def task(self, dispute: Dispute) -> str:
        return dispute.escrow.task.title

    @admin.display(boolean=True, description="deadline passed")
    def deadline_passed(self, dispute: Dispute) -> bool:
        return selectors.dispute_overdue(dispute)

    @admin.display(boolean=True, description="awaits 2nd approval")
    def awaiting_approval(self, dispute: Dispute) -> bool:
        return bool(dispute.proposed_outcome and not dispute.outcome)

    @admin.display(description="age", ordering="created_at")
    def age(self, dispute: Dispute) -> str:
        return timesince(dispute.created_at)

    @admin.display(description="escrow")
    def escrow_link(self, dispute: Dispute) -> str:
        url = reverse("admin:payments_escrow_change", args=[dispute.escrow_id])
        return format_html('<a href="{}">{}</a>', url, dispute.escrow)

    @admin.action(description="Assign to me", permissions=["assign"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Dispute]):
        for dispute in queryset:
            try:
                services.dispute_assign(dispute=dispute, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"Dispute #{dispute.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Dispute #{dispute.pk} is yours.", messages.SUCCESS)

    def get_urls(self):
        return [
            path("<int:pk>/act/", self.admin_site.admin_view(self.act_view), name="disputes_dispute_act"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        dispute = get_object_or_404(Dispute.objects.select_related("escrow", "escrow__task"), pk=object_id)
        escrow = dispute.escrow
        extra = {
            "dispute": dispute,
            "escrow": escrow,
            "escrow_events": escrow.events.select_related("actor"),
            "can_rule": can_rule(request.user) and dispute.is_active,
            "can_act": is_support(request.user) and dispute.is_active,
            "ruling_form": RulingForm(),
            "question_form": QuestionForm(),
            "second_approval_amount": settings.DISPUTE_SECOND_APPROVAL_AMOUNT,
            "needs_second_approval": escrow.held_amount > settings.DISPUTE_SECOND_APPROVAL_AMOUNT,
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def act_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The console's buttons: assign to me, ask the parties, rule, approve or turn down a ruling."""
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:disputes_dispute_change", args=[pk]))
        if not is_support(request.user):
            raise DjangoPermissionDenied
        dispute = get_object_or_404(Dispute, pk=pk)
        op = request.POST.get("op", "")
        try:
            if op == "assign":
                services.dispute_assign(dispute=dispute, actor=request.user)
                done = "Assigned to you."
            elif op == "ask":
                form = QuestionForm(request.POST)
                if not form.is_valid():
                    raise ApplicationError("Write the question.", code="body_required")
                services.dispute_ask_parties(dispute=dispute, actor=request.user, body=form.cleaned_data["body"])
                done = "Question sent; the dispute awaits the parties' response."
            elif op == "rule":
                form = RulingForm(request.POST)
                if not form.is_valid():
                    raise ApplicationError("Choose an outcome and give the reason.", code="ruling_invalid")
                data = form.cleaned_data
                ruled = services.dispute_rule(
                    dispute=dispute,
                    actor=request.user,
                    outcome=data["outcome"],
                    reason=data["reason"],
                    client_refund=data["client_refund"] or None,
                )
                done = (
                    "Ruled and carried out."
                    if ruled.status == Dispute.Status.RESOLVED
                    else "Ruling recorded: a second member of staff must approve it."
                )
            elif op == "approve":
                services.dispute_ruling_approve(dispute=dispute, actor=request.user)
                done = "Ruling approved and carried out."
            elif op == "reject":
                services.dispute_ruling_reject(dispute=dispute, actor=request.user, note=request.POST.get("note", ""))
                done = "Proposed ruling turned down."
            else:
                raise ApplicationError("Unknown action.", code="action_invalid")
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:disputes_dispute_change", args=[pk]))


class ChargebackEventInline(ReadOnlyInline):
    model = ChargebackEvent
    verbose_name_plural = "timeline"
    fields = ["created_at", "kind", "actor", "amount", "note"]
    readonly_fields = fields


class OpenFilter(admin.SimpleListFilter):
    title = "open"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open"), ("due", "Evidence due within 2 days"), ("no", "Closed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(closed_at__isnull=True)
        if self.value() == "due":
            return queryset.filter(closed_at__isnull=True, evidence_due_by__lte=timezone.now() + timedelta(days=2))
        if self.value() == "no":
            return queryset.filter(closed_at__isnull=False)
        return queryset


def chargeback_evidence_form_class():
    fields = {
        name: forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": 2}))
        for name, label in TEXT_FIELDS.items()
    }
    fields.update({name: forms.FileField(label=label, required=False) for name, label in FILE_FIELDS.items()})
    return type("ChargebackEvidenceForm", (forms.Form,), fields)


@admin.register(Chargeback)
class ChargebackAdmin(admin.ModelAdmin):
    change_form_template = "disputes/admin/chargeback_change_form.html"
    list_display = [
        "reference",
        "escrow",
        "status",
        "amount",
        "fee",
        "currency",
        "evidence_due_by",
        "escrow_was",
        "reserved_from_wallet",
        "created_at",
    ]
    list_filter = ["status", OpenFilter, "currency"]
    search_fields = ["reference", "charge_reference", "escrow__task__title"]
    readonly_fields = [f.name for f in Chargeback._meta.fields]
    inlines = [ChargebackEventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "<int:pk>/respond/", self.admin_site.admin_view(self.respond_view), name="disputes_chargeback_respond"
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        cb = get_object_or_404(Chargeback, pk=object_id)
        extra = {
            "chargeback": cb,
            "can_respond": request.user.has_perm("disputes.respond_chargeback") and not cb.is_closed,
            "evidence_form": chargeback_evidence_form_class()(),
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def respond_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        back = HttpResponseRedirect(reverse("admin:disputes_chargeback_change", args=[pk]))
        if request.method != "POST":
            return back
        if not request.user.has_perm("disputes.respond_chargeback"):
            raise DjangoPermissionDenied
        cb = get_object_or_404(Chargeback, pk=pk)
        try:
            if request.POST.get("op") == "accept":
                services.chargeback_accept(chargeback=cb, actor=request.user)
                done = "Chargeback accepted: booked as lost."
            else:
                form = chargeback_evidence_form_class()(request.POST, request.FILES)
                form.is_valid()
                text = {k: v for k, v in form.cleaned_data.items() if k in TEXT_FIELDS and v}
                files = {k: v for k, v in form.cleaned_data.items() if k in FILE_FIELDS and v}
                cb = services.chargeback_evidence_submit(chargeback=cb, actor=request.user, text=text, files=files)
                done = f"Evidence sent to the bank. The chargeback is {cb.get_status_display().lower()}."
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return back
