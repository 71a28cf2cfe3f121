"""Pages for a client's saved cards and wallet top-ups. Thin: ``payments.cards`` and
``payments.topups`` decide. Another client's card or top-up does not exist here (404)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.errors import ApplicationError, NotFound
from payments import cards, topups
from payments.forms import TEST_CARDS, PayForm, TopUpForm, WithdrawForm
from payments.models import WalletTopUp


class _TestCardChoice:
    def __init__(self, value: str, label: str):
        self.value, self.label = value, label


def _saved_cards(request: HttpRequest) -> list[cards.SavedCard]:
    try:
        return cards.cards_for_client(user=request.user)
    except ApplicationError as exc:
        messages.warning(request, f"Your saved cards cannot be shown right now. {exc.message}")
        return []


@login_required
@require_GET
def card_list(request: HttpRequest) -> HttpResponse:
    context = {
        "saved_cards": _saved_cards(request),
        "emulated": settings.STRIPE_EMULATED,
        "test_cards": [_TestCardChoice(v, label) for v, label in TEST_CARDS],
    }
    if not settings.STRIPE_EMULATED:  # Stripe.js saves the card with a SetupIntent's client secret
        try:
            setup = cards.card_setup_start(user=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            context.update(
                {
                    "client_secret": setup.client_secret,
                    "publishable_key": setup.publishable_key,
                    "return_url": request.build_absolute_uri(reverse("payments:cards_setup_return")),
                }
            )
    return render(request, "payments/cards.html", context)


@login_required
@require_POST
def card_add(request: HttpRequest) -> HttpResponse:
    """Save a test card (the emulator). With real keys, Stripe.js saves cards on the page itself."""
    if not settings.STRIPE_EMULATED:
        raise Http404("Test cards are only offered with the Stripe emulator")
    method = request.POST.get("payment_method", "")
    if method not in dict(TEST_CARDS):
        messages.error(request, "Choose one of the test cards.")
        return redirect("payments:cards")
    try:
        setup = cards.card_setup_start(user=request.user)
        result = cards.card_setup_confirm(
            user=request.user,
            setup_reference=setup.reference,
            method=method,
            return_url=request.build_absolute_uri(reverse("payments:cards_setup_return")),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payments:cards")
    if result.status == "requires_action":
        return redirect(result.redirect_url)
    messages.success(request, "Card saved.")
    return redirect("payments:cards")


@login_required
@require_GET
def card_setup_return(request: HttpRequest) -> HttpResponse:
    """Where the bank's authentication (or Stripe.js) sends the client back after saving a card."""
    reference = request.GET.get("setup_intent", "")
    try:
        result = cards.card_setup_finish(user=request.user, setup_reference=reference)
    except NotFound:
        raise Http404("No such card setup")
    except ApplicationError as exc:
        messages.error(request, f"The card was not saved. {exc.message}")
    else:
        if result.status == "succeeded":
            messages.success(request, "Card saved.")
    return redirect("payments:cards")


@login_required
@require_POST
def card_remove(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        cards.card_remove(user=request.user, reference=reference)
    except NotFound:
        raise Http404("No such card")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Card removed: it can no longer be used.")
    return redirect("payments:cards")


@login_required
@require_POST
def card_make_default(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        cards.card_default_set(user=request.user, reference=reference)
    except NotFound:
        raise Http404("No such card")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Default card changed.")
    return redirect("payments:cards")


# --- Top-ups ------------------------------------------------------------------------------------


@login_required
def top_up_new(request: HttpRequest) -> HttpResponse:
    form = TopUpForm(request.POST or None, initial={"currency": request.GET.get("currency", settings.DEFAULT_CURRENCY)})
    if request.method == "POST" and form.is_valid():
        try:
            top_up = topups.top_up_create(client=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("payments:top_up", pk=top_up.pk)
    context = {
        "form": form,
        "top_ups": WalletTopUp.objects.filter(client=request.user).order_by("-created_at", "-id")[:20],
        "limits": {
            "minimum": settings.WALLET_TOP_UP_MIN,
            "maximum": settings.WALLET_TOP_UP_MAX,
            "daily": settings.WALLET_TOP_UP_DAILY_LIMIT,
            "currency": settings.DEFAULT_CURRENCY,
        },
        "withdraw_form": WithdrawForm(),
    }
    return render(request, "payments/top_up_new.html", context)


def _top_up_or_404(request: HttpRequest, pk: int) -> WalletTopUp:
    top_up = WalletTopUp.objects.filter(pk=pk, client=request.user).select_related("payment").first()
    if top_up is None:
        raise Http404("No such top-up")
    return top_up


@login_required
@require_GET
def top_up(request: HttpRequest, pk: int) -> HttpResponse:
    top_up = _top_up_or_404(request, pk)
    context = {"top_up": top_up, "emulated": settings.STRIPE_EMULATED}
    if top_up.status == WalletTopUp.Status.AWAITING_PAYMENT:
        saved = _saved_cards(request)
        if saved or settings.STRIPE_EMULATED:
            context["card_form"] = PayForm(saved_cards=saved, test_cards=settings.STRIPE_EMULATED)
        paying = top_up.payment_id and top_up.payment.reference and request.GET.get("payment_intent")
        context["awaiting_confirmation"] = bool(paying)
        if not settings.STRIPE_EMULATED:
            try:
                checkout = topups.top_up_checkout_start(top_up=top_up, actor=request.user)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                context.update(
                    {
                        "client_secret": checkout.client_secret,
                        "publishable_key": checkout.publishable_key,
                        "return_url": request.build_absolute_uri(reverse("payments:top_up", args=[top_up.pk])),
                    }
                )
    return render(request, "payments/top_up.html", context)


@login_required
@require_POST
def top_up_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    top_up = _top_up_or_404(request, pk)
    try:
        saved = cards.cards_for_client(user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payments:top_up", pk=top_up.pk)
    if not settings.STRIPE_EMULATED and not saved:
        raise Http404("Test cards are only offered with the Stripe emulator")
    form = PayForm(request.POST, saved_cards=saved, test_cards=settings.STRIPE_EMULATED)
    if not form.is_valid():
        messages.error(request, "Choose one of your saved cards or one of the test cards.")
        return redirect("payments:top_up", pk=top_up.pk)
    try:
        attempt = topups.top_up_payment_confirm(
            top_up=top_up,
            actor=request.user,
            payment_method=form.cleaned_data["payment_method"],
            save_card=form.cleaned_data["save_card"],
            return_url=request.build_absolute_uri(reverse("payments:top_up", args=[top_up.pk])),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("payments:top_up", pk=top_up.pk)
    if attempt.status == "requires_action":
        return redirect(attempt.redirect_url)
    messages.success(request, "Payment received — your wallet is credited as soon as the bank confirms.")
    return redirect(f"{reverse('payments:top_up', args=[top_up.pk])}?payment_intent=1")


@login_required
@require_POST
def top_up_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    top_up = _top_up_or_404(request, pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give an amount like 12.50, or leave it empty to withdraw all you can.")
        return redirect("payments:top_up_new")
    try:
        withdrawal = topups.top_up_withdraw(top_up=top_up, actor=request.user, amount=form.cleaned_data["amount"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if withdrawal.status == "succeeded":
            messages.success(request, "Sent back to the card that paid this top-up.")
        else:
            messages.info(request, "The withdrawal is recorded; the card refund is being completed.")
    return redirect("payments:top_up_new")


@login_required
@require_POST
def top_up_save_card(request: HttpRequest, pk: int) -> JsonResponse:
    """With real keys: keep the card the Payment Element is about to pay this top-up with."""
    top_up = _top_up_or_404(request, pk)
    try:
        checkout = topups.top_up_checkout_start(top_up=top_up, actor=request.user)
        cards.card_save_on_payment(
            user=request.user,
            processor=topups.top_up_processor(checkout.top_up),
            payment_reference=checkout.payment_reference,
        )
    except ApplicationError as exc:
        return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=exc.status_code)
    return JsonResponse({"saved": True})
