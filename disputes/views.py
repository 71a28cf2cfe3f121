"""Dispute pages: open a dispute on an escrow, the dispute page (thread, evidence, settlement,
deadlines, status) and the list of my disputes. Thin: services and selectors decide; a refusal is
shown next to the form. To anyone but the parties (and Support) a dispute does not exist (404)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError, NotFound
from disputes import selectors, services
from disputes.api.views import evidence_file_response
from disputes.forms import DisputeOpenForm, EvidenceForm, MessageForm, SettlementForm
from disputes.models import Dispute
from payments.selectors import escrow_get_for_party


def _dispute_or_404(request: HttpRequest, pk: int) -> Dispute:
    try:
        return selectors.dispute_get_for_user(dispute_id=pk, user=request.user)
    except NotFound:
        raise Http404("Dispute not found")


@login_required
@require_GET
def my_disputes(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Dispute.Status.values:
        status = ""
    page = Paginator(selectors.dispute_list_for_user(user=request.user, status=status), 20).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "disputes/my_disputes.html",
        {"page": page, "status": status, "statuses": Dispute.Status.choices},
    )


@login_required
@require_http_methods(["GET", "POST"])
def dispute_open(request: HttpRequest, escrow_pk: int) -> HttpResponse:
    try:
        escrow = escrow_get_for_party(escrow_id=escrow_pk, user=request.user)
    except NotFound:
        raise Http404("Escrow not found")
    active = selectors.dispute_active_for_escrow(escrow=escrow)
    if active is not None:
        return redirect("disputes:dispute_detail", active.pk)
    form = DisputeOpenForm(request.POST or None, initial={"reason": request.GET.get("reason", "")})
    if request.method == "POST" and form.is_valid():
        try:
            dispute = services.dispute_open(escrow=escrow, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error("amount_in_question" if "amount" in exc.code else None, exc.message)
        else:
            messages.success(request, "Your dispute is open. The payment is held until it is settled.")
            return redirect("disputes:dispute_detail", dispute.pk)
    context = {"escrow": escrow, "form": form, "response_days": settings.DISPUTE_RESPONSE_DAYS}
    return render(request, "disputes/open.html", context, status=400 if form.errors else 200)


def _page(request: HttpRequest, dispute: Dispute, *, status: int = 200, **forms) -> HttpResponse:
    dispute = _dispute_or_404(request, dispute.pk)
    context = {
        "dispute": dispute,
        "escrow": dispute.escrow,
        "role": selectors.dispute_role(dispute=dispute, user=request.user),
        "can": selectors.dispute_can(dispute=dispute, user=request.user),
        "overdue": selectors.dispute_overdue(dispute),
        "thread": dispute.messages.select_related("author"),
        "evidence": dispute.evidence.select_related("uploaded_by"),
        "timeline": dispute.events.select_related("actor"),
        "message_form": forms.get("message_form") or MessageForm(),
        "evidence_form": forms.get("evidence_form") or EvidenceForm(),
        "settlement_form": forms.get("settlement_form") or SettlementForm(),
        "action_error": forms.get("action_error", ""),
    }
    return render(request, "disputes/detail.html", context, status=status)


@login_required
@require_GET
def dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, _dispute_or_404(request, pk))


def _act(request: HttpRequest, pk: int, form_class, form_name: str, call, done: str) -> HttpResponse:
    dispute = _dispute_or_404(request, pk)
    form = form_class(request.POST, request.FILES) if form_class else None
    if form is not None and not form.is_valid():
        return _page(request, dispute, status=400, **{form_name: form})
    try:
        call(dispute, form.cleaned_data if form else {})
    except ApplicationError as exc:
        if form is not None:
            form.add_error(None, exc.message)
            return _page(request, dispute, status=400, **{form_name: form})
        return _page(request, dispute, status=400, action_error=exc.message)
    messages.success(request, done)
    return redirect("disputes:dispute_detail", dispute.pk)


@login_required
@require_POST
def dispute_message(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        MessageForm,
        "message_form",
        lambda d, data: services.dispute_message_post(dispute=d, actor=request.user, body=data["body"]),
        "Message sent.",
    )


@login_required
@require_POST
def dispute_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        EvidenceForm,
        "evidence_form",
        lambda d, data: services.dispute_evidence_add(
            dispute=d, actor=request.user, upload=data["file"], description=data["description"]
        ),
        "File added.",
    )


@login_required
@require_POST
def dispute_propose(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        SettlementForm,
        "settlement_form",
        lambda d, data: services.dispute_settlement_propose(
            dispute=d, actor=request.user, tasker_amount=data["tasker_amount"]
        ),
        "Proposal sent. The other party can accept it.",
    )


@login_required
@require_POST
def dispute_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        None,
        "",
        lambda d, data: services.dispute_settlement_accept(
            dispute=d, actor=request.user, tasker_amount=request.POST.get("tasker_amount")
        ),
        "Settled. The money has been shared as agreed.",
    )


@login_required
@require_POST
def dispute_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        None,
        "",
        lambda d, data: services.dispute_withdraw(dispute=d, actor=request.user),
        "Dispute withdrawn. The payment is back in escrow as before.",
    )


@login_required
@require_POST
def dispute_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        None,
        "",
        lambda d, data: services.dispute_escalate(dispute=d, actor=request.user),
        "Support will look at the dispute.",
    )


@login_required
@require_GET
def evidence_download(request: HttpRequest, pk: int, evidence_pk: int) -> HttpResponse:
    try:
        evidence = selectors.evidence_get_for_user(dispute_id=pk, evidence_id=evidence_pk, user=request.user)
    except NotFound:
        raise Http404("File not found")
    return evidence_file_response(evidence)
