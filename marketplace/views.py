"""Server-rendered marketplace pages. Thin: forms shape input, services and selectors decide.

A refusal from a service is shown next to the form or button that caused it (the detail page is
rendered again with the message), never as a server error.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError, NotFound
from core.money import decimal_places
from marketplace import selectors, services
from marketplace.forms import CancelForm, OfferForm, RequestChangesForm, TaskFilterForm, TaskForm
from marketplace.models import Offer, Task
from payments import selectors as payment_selectors
from payments.fees import FeeBreakdown, fee_breakdown
from payments.services import fee_policy_active

PAGE_SIZE = 12


def _page(request: HttpRequest, items, per_page: int = PAGE_SIZE):
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _querystring_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _visible_task_or_404(request: HttpRequest, pk: int) -> Task:
    try:
        return selectors.task_get_visible(task_id=pk, user=request.user)
    except NotFound:
        raise Http404("Task not found")


def _visible_offer_or_404(request: HttpRequest, pk: int) -> Offer:
    try:
        return selectors.offer_get_visible(offer_id=pk, user=request.user)
    except NotFound:
        raise Http404("Offer not found")


def _form_error(form, exc: ApplicationError) -> None:
    field = exc.details.get("field")
    # Errors on hidden fields would not be shown, so they go at the top of the form instead.
    visible = field in form.fields and not form.fields[field].widget.is_hidden
    form.add_error(field if visible else None, exc.message)


# --- browsing ---------------------------------------------------------------------------------


@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    form = TaskFilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {key: value for key, value in form.cleaned_data.items() if value not in (None, "")}
    page = selectors.BrowsePaginator(selectors.task_list_open(**filters), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "marketplace/task_list.html",
        {"form": form, "page": page, "querystring": _querystring_without_page(request), "filtered": bool(filters)},
    )


def _fee_preview(task: Task, amount: Decimal) -> FeeBreakdown:
    """What accepting ``amount`` would cost the client and pay the tasker, with today's fee policy.

    The escrow is priced with the policy active when the offer is accepted, so this is a preview;
    each party is shown only its own side of it.
    """
    policy = fee_policy_active(currency=task.currency)
    return fee_breakdown(amount=amount, currency=task.currency, rules=policy.rules)


def _detail_context(
    request: HttpRequest,
    task: Task,
    *,
    errors: dict[str, str] | None = None,
    offer_form: OfferForm | None = None,
    changes_form: RequestChangesForm | None = None,
    cancel_form: CancelForm | None = None,
) -> dict:
    user = request.user
    errors = errors or {}
    offers = list(selectors.offer_list_for_task(task=task, user=user))
    for offer in offers:
        offer.error = errors.get(f"offer-{offer.pk}")
    is_client = user.is_authenticated and task.client_id == user.pk
    is_assigned_tasker = user.is_authenticated and task.assigned_tasker_id == user.pk
    my_live_offer = next((o for o in offers if o.tasker_id == user.pk and o.is_live), None)
    is_tasker = user.is_authenticated and getattr(getattr(user, "profile", None), "is_tasker", False)
    escrow = payment_selectors.escrow_current_for_task(task=task, user=user)
    escrow_context = payment_selectors.escrow_panel(escrow=escrow, user=user) if escrow else {"escrow": None}
    delivered = task.status == Task.Status.DELIVERED
    can_bid = task.status == Task.Status.OPEN and not is_client and is_tasker and my_live_offer is None
    bidding = can_bid or (offer_form is not None and offer_form.is_bound)
    if is_client and task.status == Task.Status.OPEN:
        for offer in offers:
            # The client's side only: the service fee on top and the total to pay.
            offer.fees = _fee_preview(task, offer.amount.amount) if offer.status == Offer.Status.PENDING else None
    commission_rules = None
    budget_fees = None
    if bidding:
        # The tasker's side only: the commission and what they would receive, for the task's
        # budget (shown without JavaScript) and as the rules static/js/fee_preview.js applies to
        # the amount being typed.
        budget_fees = _fee_preview(task, task.budget.amount)
        commission_rules = fee_policy_active(currency=task.currency).rules
    return {
        **escrow_context,
        "task": task,
        "offers": offers,
        "timeline": selectors.task_timeline(task=task, user=user),
        "is_client": is_client,
        "is_assigned_tasker": is_assigned_tasker,
        "is_tasker": is_tasker,
        "my_live_offer": my_live_offer,
        "can_bid": can_bid,
        "budget_fees": budget_fees,
        "commission_rules": commission_rules,
        "currency_places": decimal_places(task.currency),
        "can_edit": is_client and task.status == Task.Status.OPEN,
        # Before delivery only: once delivered the client approves, asks for changes or disputes.
        "can_cancel": is_client and task.status in (Task.Status.OPEN, Task.Status.ASSIGNED, Task.Status.IN_PROGRESS),
        "can_pay": is_client
        and escrow is not None
        and escrow.status == escrow.Status.AWAITING_PAYMENT
        and not escrow_context.get("escrow_awaiting_confirmation"),
        "can_approve": is_client and delivered and escrow is not None and escrow.status == escrow.Status.FUNDED,
        "can_request_changes": is_client and delivered,
        "can_deliver": is_assigned_tasker and task.status == Task.Status.IN_PROGRESS,
        "offer_form": offer_form or OfferForm(initial={"currency": task.currency}),
        "changes_form": changes_form or RequestChangesForm(),
        "cancel_form": cancel_form or CancelForm(),
        "errors": errors,
    }


def _render_detail(request: HttpRequest, task: Task, *, status: int = 200, **context) -> HttpResponse:
    return render(request, "marketplace/task_detail.html", _detail_context(request, task, **context), status=status)


@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _visible_task_or_404(request, pk))


# --- posting and editing -----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def task_create(request: HttpRequest) -> HttpResponse:
    form = TaskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            task = services.task_post(client=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Your task is posted. Taskers can now make offers.")
            return redirect("marketplace:task_detail", pk=task.pk)
    return render(request, "marketplace/task_form.html", {"form": form, "editing": False}, status=_status(form))


@login_required
@require_http_methods(["GET", "POST"])
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task_or_404(request, pk)
    if task.client_id != request.user.pk:
        raise Http404("Task not found")
    initial = {
        "title": task.title,
        "description": task.description,
        "category": task.category,
        "budget_amount": task.budget.amount,
        "budget_currency": task.currency,
    }
    form = TaskForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.task_update(task=task, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Task updated.")
            return redirect("marketplace:task_detail", pk=task.pk)
    return render(
        request, "marketplace/task_form.html", {"form": form, "editing": True, "task": task}, status=_status(form)
    )


def _status(form) -> int:
    return 400 if form.is_bound and form.errors else 200


# --- actions on a task -------------------------------------------------------------------------


def _run_action(
    request: HttpRequest, task: Task, *, action: str, call: Callable[[], object], success: str
) -> HttpResponse:
    try:
        call()
    except NotFound:
        raise Http404("Not found")
    except ApplicationError as exc:
        if action.startswith("offer-"):
            return _render_detail(request, task, errors={action: exc.message}, status=exc.status_code)
        # Task buttons come and go with the state, so the refusal goes where it is always seen.
        messages.error(request, exc.message)
        return _render_detail(request, task, status=exc.status_code)
    messages.success(request, success)
    return redirect("marketplace:task_detail", pk=task.pk)


@login_required
@require_POST
def offer_submit(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task_or_404(request, pk)
    form = OfferForm(request.POST)
    if form.is_valid():
        try:
            services.offer_submit(task=task, tasker=request.user, **form.cleaned_data)
        except NotFound:
            raise Http404("Task not found")
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Your offer is in. The client will see it on the task.")
            return redirect("marketplace:task_detail", pk=task.pk)
    return _render_detail(request, task, offer_form=form, status=400)


@login_required
@require_POST
def task_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task_or_404(request, pk)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _run_action(
        request,
        task,
        action="cancel",
        call=lambda: services.task_cancel(task=task, actor=request.user, reason=reason),
        success=(
            "The work has started, so the tasker is asked to agree: your payment is refunded in full when they do "
            "(or Support decides). Follow it under Disputes."
            if task.status == Task.Status.IN_PROGRESS
            else "The task is cancelled. Any payment held in escrow is refunded to you in full."
        ),
    )


@login_required
@require_POST
def task_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task_or_404(request, pk)
    return _run_action(
        request,
        task,
        action="deliver",
        call=lambda: services.task_mark_delivered(task=task, actor=request.user, note=request.POST.get("note", "")),
        success="Marked as delivered. The client will review the work.",
    )


@login_required
@require_POST
def task_request_changes(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task_or_404(request, pk)
    form = RequestChangesForm(request.POST)
    if form.is_valid():
        try:
            services.task_request_changes(task=task, actor=request.user, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Changes requested. The tasker can see your note.")
            return redirect("marketplace:task_detail", pk=task.pk)
    return _render_detail(request, task, changes_form=form, status=400)


@login_required
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task_or_404(request, pk)
    return _run_action(
        request,
        task,
        action="complete",
        call=lambda: services.task_complete(task=task, actor=request.user),
        success="Payment released to the tasker. The task is completed.",
    )


# --- actions on an offer ----------------------------------------------------------------------


def _offer_action(request: HttpRequest, pk: int, *, action: str, service, success: str) -> HttpResponse:
    offer = _visible_offer_or_404(request, pk)
    task = selectors.task_get_visible(task_id=offer.task_id, user=request.user)
    return _run_action(
        request,
        task,
        action=f"offer-{offer.pk}",
        call=lambda: service(offer=offer, actor=request.user),
        success=success,
    )


@login_required
@require_POST
def offer_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _offer_action(
        request, pk, action="accept", service=services.offer_accept, success="Offer accepted. The task is assigned."
    )


@login_required
@require_POST
def offer_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _offer_action(request, pk, action="reject", service=services.offer_reject, success="Offer declined.")


@login_required
@require_POST
def offer_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _offer_action(
        request, pk, action="withdraw", service=services.offer_withdraw, success="Your offer is withdrawn."
    )


# --- my tasks / my offers ---------------------------------------------------------------------


@login_required
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    return _mine(request, "marketplace/my_tasks.html", Task.Status, selectors.task_list_for_client, "client")


@login_required
@require_GET
def my_offers(request: HttpRequest) -> HttpResponse:
    return _mine(request, "marketplace/my_offers.html", Offer.Status, selectors.offer_list_for_tasker, "tasker")


def _mine(request: HttpRequest, template: str, statuses, select, owner: str) -> HttpResponse:
    """A user's own tasks or offers, filtered by one of their statuses (an unknown one shows all)."""
    status = request.GET.get("status", "")
    if status not in statuses.values:
        status = ""
    page = _page(request, select(**{owner: request.user, "status": status}))
    context = {
        "page": page,
        "status": status,
        "statuses": statuses.choices,
        "querystring": _querystring_without_page(request),
    }
    return render(request, template, context)
