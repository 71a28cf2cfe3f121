"""Payment pages: the escrow's status page and the checkout. Thin: services and selectors decide.

Only the escrow's parties see it; the checkout is the client's alone. For anyone else these
pages do not exist (404).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.errors import ApplicationError, NotFound
from payments import escrow as services
from payments import selectors
from payments.forms import TestCardForm
from payments.models import Escrow


def _escrow_or_404(request: HttpRequest, pk: int, *, client_only: bool = False) -> Escrow:
    try:
        escrow = selectors.escrow_get_for_party(escrow_id=pk, user=request.user)
    except NotFound:
        raise Http404("Escrow not found")
    if client_only and escrow.client_id != request.user.pk:
        raise Http404("Escrow not found")
    return escrow


def _status_url(request: HttpRequest, escrow: Escrow) -> str:
    return request.build_absolute_uri(reverse("payments:escrow_detail", args=[escrow.pk]))


@login_required
@require_GET
def escrow_detail(request: HttpRequest, pk: int) -> HttpResponse:
    escrow = _escrow_or_404(request, pk)
    context = selectors.escrow_panel(escrow=escrow, user=request.user)
    return render(request, "payments/escrow_detail.html", context)


@login_required
@require_GET
def checkout(request: HttpRequest, pk: int) -> HttpResponse:
    escrow = _escrow_or_404(request, pk, client_only=True)
    context = selectors.escrow_panel(escrow=escrow, user=request.user)
    can_pay = escrow.status == Escrow.Status.AWAITING_PAYMENT and not context["escrow_awaiting_confirmation"]
    context.update({"can_pay": can_pay, "emulated": settings.STRIPE_EMULATED})
    if can_pay and settings.STRIPE_EMULATED:
        context["card_form"] = TestCardForm()
    elif can_pay:
        # Real Stripe: the browser pays through Stripe.js with the PaymentIntent's client secret.
        try:
            started = services.escrow_checkout_start(escrow=escrow, actor=request.user)
        except NotFound:
            raise Http404("Escrow not found")
        except ApplicationError as exc:
            messages.error(request, exc.message)
            context["can_pay"] = False
        else:
            context.update(
                {
                    "client_secret": started.client_secret,
                    "publishable_key": started.publishable_key,
                    "return_url": request.build_absolute_uri(escrow.task.get_absolute_url()),
                }
            )
    return render(request, "payments/checkout.html", context)


@login_required
@require_POST
def checkout_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    if not settings.STRIPE_EMULATED:
        raise Http404("Test cards are only offered with the Stripe emulator")
    escrow = _escrow_or_404(request, pk, client_only=True)
    form = TestCardForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the test cards.")
        return redirect("payments:checkout", pk=escrow.pk)
    try:
        attempt = services.escrow_payment_confirm(
            escrow=escrow,
            actor=request.user,
            payment_method=form.cleaned_data["payment_method"],
            return_url=_status_url(request, escrow),
        )
    except NotFound:
        raise Http404("Escrow not found")
    except ApplicationError as exc:
        # A decline is recorded on the escrow and the checkout page shows it once, next to the
        # retry; anything else (the service did not answer…) is said here.
        if exc.code != "card_declined":
            messages.error(request, exc.message)
        return redirect("payments:checkout", pk=escrow.pk)
    if attempt.status == "requires_action":
        return redirect(attempt.redirect_url)
    messages.success(request, "Payment received — confirming with the bank…")
    return redirect(escrow.task.get_absolute_url())
