"""The "Get paid" pages: onboarding with Stripe, requesting payouts, the schedule, the history and
each payout with its timeline and statement. Thin: services and selectors decide."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.errors import ApplicationError, NotFound
from payouts import selectors, services
from payouts.forms import PayoutRequestForm, PayoutScheduleForm
from payouts.models import Payout


def _urls(request: HttpRequest) -> dict[str, str]:
    return {
        "refresh_url": request.build_absolute_uri(reverse("payouts:onboarding_refresh")),
        "return_url": request.build_absolute_uri(reverse("payouts:onboarding_return")),
    }


@login_required
@require_GET
def get_paid(request: HttpRequest) -> HttpResponse:
    account = selectors.payout_account_for(user=request.user)
    options = selectors.payout_options(user=request.user)
    default_currency = account.bank_currency if account and account.bank_currency else settings.DEFAULT_CURRENCY
    request_form = PayoutRequestForm(initial={"currency": default_currency})
    schedule_form = PayoutScheduleForm(
        initial={
            "schedule": account.schedule if account else "manual",
            "currency": (account.schedule_currency if account and account.schedule_currency else default_currency),
            "threshold": account.schedule_threshold if account and account.schedule_threshold else "",
        }
    )
    return render(
        request,
        "payouts/get_paid.html",
        {
            "account": account,
            "requirements": selectors.requirements_in_words(account.requirements_due) if account else [],
            "disabled_reason": selectors.disabled_reason_in_words(account.disabled_reason) if account else "",
            "options": options,
            "request_form": request_form,
            "schedule_form": schedule_form,
            "payouts": selectors.payout_list_for_tasker(user=request.user)[:50],
            "arrival_estimate": selectors.arrival_estimate(),
            "is_tasker": bool(getattr(getattr(request.user, "profile", None), "is_tasker", False)),
            "emulated": settings.STRIPE_EMULATED,
        },
    )


@login_required
@require_POST
def onboarding_start(request: HttpRequest) -> HttpResponse:
    try:
        url = services.payout_onboarding_link(user=request.user, **_urls(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payouts:get_paid")
    return redirect(url)


@login_required
@require_GET
def onboarding_refresh(request: HttpRequest) -> HttpResponse:
    """The onboarding link expired or was left: a fresh one."""
    try:
        url = services.payout_onboarding_link(user=request.user, **_urls(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payouts:get_paid")
    return redirect(url)


@login_required
@require_GET
def onboarding_return(request: HttpRequest) -> HttpResponse:
    try:
        account = services.payout_account_refresh(user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payouts:get_paid")
    if account is not None and account.can_receive_payouts:
        messages.success(request, "Your payout account is ready: you can now pay out your available balance.")
    elif account is not None:
        messages.warning(request, "Stripe still needs some details before it can pay you out (see below).")
    return redirect("payouts:get_paid")


@login_required
@require_POST
def dashboard(request: HttpRequest) -> HttpResponse:
    try:
        return redirect(services.payout_dashboard_link(user=request.user))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payouts:get_paid")


@login_required
@require_POST
def request_payout(request: HttpRequest) -> HttpResponse:
    form = PayoutRequestForm(request.POST)
    if form.is_valid():
        try:
            payout = services.payout_request(
                tasker=request.user, amount=form.cleaned_data["amount"], currency=form.cleaned_data["currency"]
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            if payout.status == Payout.Status.REQUESTED:
                messages.success(request, "Payout requested. Finance approves it before it is sent.")
            else:
                messages.success(request, "Payout requested. It is on its way to your bank.")
            return redirect("payouts:detail", pk=payout.pk)
    else:
        messages.error(request, "Enter an amount and a currency.")
    return redirect("payouts:get_paid")


@login_required
@require_POST
def schedule(request: HttpRequest) -> HttpResponse:
    form = PayoutScheduleForm(request.POST)
    if form.is_valid():
        try:
            account = services.payout_schedule_set(
                user=request.user,
                schedule=form.cleaned_data["schedule"],
                currency=form.cleaned_data["currency"],
                threshold=form.cleaned_data["threshold"] or None,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Payout schedule: {account.get_schedule_display().lower()}.")
    else:
        messages.error(request, "Choose a schedule and a currency.")
    return redirect("payouts:get_paid")


def _payout_or_404(request: HttpRequest, pk: int) -> Payout:
    try:
        return selectors.payout_get_for_tasker(payout_id=pk, user=request.user)
    except NotFound:
        raise Http404("Payout not found")


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    payout = _payout_or_404(request, pk)
    return render(
        request,
        "payouts/payout_detail.html",
        {
            "payout": payout,
            "events": payout.events.select_related("actor").order_by("created_at", "id"),
            "statement": selectors.payout_statement(payout=payout),
            "can_cancel": (
                services.approvals._stoppable(payout) and not services.approvals.transfer_unconfirmed(payout)
            )
            or payout.status == Payout.Status.FAILED,
            "can_retry": payout.status == Payout.Status.FAILED,
        },
    )


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    payout = _payout_or_404(request, pk)
    try:
        services.payout_cancel(payout=payout, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Payout cancelled; the money is back in your wallet.")
    return redirect("payouts:detail", pk=pk)


@login_required
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    payout = _payout_or_404(request, pk)
    try:
        services.payout_retry(payout=payout, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Payout sent again.")
    return redirect("payouts:detail", pk=pk)
