"""Payment pages: the escrow's status page and the checkout. Thin: services and selectors decide.

Only the escrow's parties see it; the checkout is the client's alone. For anyone else these
pages do not exist (404).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.errors import ApplicationError, NotFound
from payments import escrow as services
from payments import selectors
from payments.cards import card_save_on_payment, cards_for_client
from payments.forms import PayForm
from payments.models import Escrow
from wallets.selectors import wallet_account_find


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
    if can_pay:
        context.update(_pay_options(request, escrow))
    if can_pay and not settings.STRIPE_EMULATED:
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


def _pay_options(request: HttpRequest, escrow: Escrow) -> dict:
    """Saved cards (and test cards with the emulator) to pay with, and whether the wallet covers it."""
    try:
        saved = cards_for_client(user=request.user)
    except ApplicationError as exc:  # the processor did not answer: pay with a new card instead
        messages.warning(request, f"Your saved cards cannot be shown right now. {exc.message}")
        saved = []
    account = wallet_account_find(user=request.user, currency=escrow.currency)
    available = account.balance if account else 0
    offered = saved or settings.STRIPE_EMULATED
    form = PayForm(saved_cards=saved, test_cards=settings.STRIPE_EMULATED) if offered else None
    return {
        "card_form": form,
        "saved_cards": saved,
        "wallet_available": available,
        "can_pay_from_wallet": available >= escrow.client_total,
    }


@login_required
@require_POST
def checkout_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    escrow = _escrow_or_404(request, pk, client_only=True)
    try:
        saved = cards_for_client(user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payments:checkout", pk=escrow.pk)
    if not settings.STRIPE_EMULATED and not saved:
        raise Http404("Test cards are only offered with the Stripe emulator")
    # With real Stripe keys only saved cards are paid here; new cards go through Stripe.js.
    form = PayForm(request.POST, saved_cards=saved, test_cards=settings.STRIPE_EMULATED)
    if not form.is_valid():
        messages.error(request, "Choose one of your saved cards or one of the test cards.")
        return redirect("payments:checkout", pk=escrow.pk)
    try:
        attempt = services.escrow_payment_confirm(
            escrow=escrow,
            actor=request.user,
            payment_method=form.cleaned_data["payment_method"],
            return_url=_status_url(request, escrow),
            save_card=form.cleaned_data["save_card"],
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


@login_required
@require_POST
def checkout_from_wallet(request: HttpRequest, pk: int) -> HttpResponse:
    """Pay the escrow from the client's wallet, at once."""
    escrow = _escrow_or_404(request, pk, client_only=True)
    try:
        services.escrow_fund_from_wallet(escrow=escrow, actor=request.user)
    except NotFound:
        raise Http404("Escrow not found")
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payments:checkout", pk=escrow.pk)
    messages.success(request, "Paid from your wallet: the work can start.")
    return redirect(escrow.task.get_absolute_url())


@login_required
@require_POST
def checkout_save_card(request: HttpRequest, pk: int) -> JsonResponse:
    """With real keys: the card the Payment Element is about to pay with is kept for the client
    (called by the page just before Stripe.js confirms). JSON: ``{"saved": true}`` or the error."""
    escrow = _escrow_or_404(request, pk, client_only=True)
    try:
        checkout = services.escrow_checkout_start(escrow=escrow, actor=request.user)
        card_save_on_payment(
            user=request.user,
            processor=services.escrow_processor(checkout.escrow),
            payment_reference=checkout.payment_reference,
        )
    except NotFound:
        raise Http404("Escrow not found")
    except ApplicationError as exc:
        return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=exc.status_code)
    return JsonResponse({"saved": True})
