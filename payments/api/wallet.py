"""Saved cards, wallet top-ups, escrows paid from the wallet and the mobile payment sheet: thin views
over ``payments.cards``, ``payments.topups`` and ``payments.escrow``.

Another client's card, top-up or escrow is a 404 (``card_not_found``, ``top_up_not_found``,
``escrow_not_found``), whatever id is sent.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import AmountField, CurrencyField, PaginatedListMixin
from core.errors import NotFound, ValidationError
from payments import cards, topups
from payments import escrow as services
from payments.api.serializers import EscrowDetailOutputSerializer
from payments.api.views import ERROR, REFUSALS, escrow_detail_response, escrow_for_request
from payments.models import WalletTopUp

PAYMENT_METHOD = serializers.RegexField(
    r"^[A-Za-z0-9_]+$", max_length=255, help_text="A PaymentMethod id: a saved card (pm_…) or a test card."
)


class CardOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="reference")
    brand = serializers.CharField()
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()
    expired = serializers.BooleanField(help_text="The card's expiry month has passed: it will be declined.")
    is_default = serializers.BooleanField()


class CardListApi(APIView):
    @extend_schema(responses={200: CardOutputSerializer(many=True), 401: ERROR, 503: ERROR}, summary="My saved cards")
    def get(self, request: Request) -> Response:
        return Response(CardOutputSerializer(cards.cards_for_client(user=request.user), many=True).data)


class CardSetupApi(APIView):
    class SetupOutput(serializers.Serializer):
        setup_intent_id = serializers.CharField(source="reference")
        client_secret = serializers.CharField(help_text="For Stripe.js confirmSetup / the mobile SDKs.")
        customer = serializers.CharField()
        publishable_key = serializers.CharField()

    @extend_schema(
        request=None, responses={200: SetupOutput, **REFUSALS}, summary="Start saving a card (a SetupIntent)"
    )
    def post(self, request: Request) -> Response:
        return Response(self.SetupOutput(cards.card_setup_start(user=request.user)).data)


class CardSetupResultOutput(serializers.Serializer):
    status = serializers.CharField(help_text="succeeded, or requires_action (open redirect_url to authenticate).")
    redirect_url = serializers.CharField()
    card = serializers.CharField(help_text="The saved card's id, once succeeded.")


class CardSetupConfirmApi(APIView):
    class ConfirmInput(serializers.Serializer):
        payment_method = PAYMENT_METHOD

    @extend_schema(
        request=ConfirmInput,
        responses={200: CardSetupResultOutput, **REFUSALS},
        summary="Save a card with a payment method (test cards; SDKs confirm on the device)",
    )
    def post(self, request: Request, setup_id: str) -> Response:
        data = self.ConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = cards.card_setup_confirm(
            user=request.user,
            setup_reference=setup_id,
            method=data.validated_data["payment_method"],
            return_url=request.build_absolute_uri(reverse("payments:cards_setup_return")),
        )
        return Response(CardSetupResultOutput(result).data)


class CardDetailApi(APIView):
    @extend_schema(responses={204: None, 401: ERROR, 404: ERROR, 503: ERROR}, summary="Remove a saved card")
    def delete(self, request: Request, card_id: str) -> Response:
        cards.card_remove(user=request.user, reference=card_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CardDefaultApi(APIView):
    @extend_schema(
        request=None,
        responses={200: CardOutputSerializer(many=True), 401: ERROR, 404: ERROR, 503: ERROR},
        summary="Make a saved card the default",
    )
    def post(self, request: Request, card_id: str) -> Response:
        cards.card_default_set(user=request.user, reference=card_id)
        return Response(CardOutputSerializer(cards.cards_for_client(user=request.user), many=True).data)


class EscrowFundFromWalletApi(APIView):
    @extend_schema(
        request=None,
        responses={200: EscrowDetailOutputSerializer, **REFUSALS},
        summary="Pay the escrow from my wallet, at once (client; the whole total, in its currency)",
    )
    def post(self, request: Request, pk: int) -> Response:
        escrow = escrow_for_request(request, pk)
        return escrow_detail_response(request, services.escrow_fund_from_wallet(escrow=escrow, actor=request.user))


class TopUpOutputSerializer(serializers.ModelSerializer):
    withdrawable = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)

    class Meta:
        model = WalletTopUp
        fields = [
            "id",
            "currency",
            "amount",
            "status",
            "withdrawn_amount",
            "withdrawable",
            "last_payment_error",
            "created_at",
            "funded_at",
        ]


class TopUpCheckoutOutput(serializers.Serializer):
    top_up = TopUpOutputSerializer()
    client_secret = serializers.CharField(help_text="The PaymentIntent's, for Stripe.js / the mobile SDKs.")
    publishable_key = serializers.CharField()
    payment_intent_id = serializers.CharField(source="payment_reference")


def _top_up_for(request: Request, pk: int) -> WalletTopUp:
    top_up = WalletTopUp.objects.filter(pk=pk, client=request.user).first()
    if top_up is None:
        raise NotFound("No such top-up.", code="top_up_not_found")
    return top_up


class TopUpListApi(PaginatedListMixin, APIView):
    class CreateInput(serializers.Serializer):
        amount = AmountField()
        currency = CurrencyField()

    @extend_schema(responses={200: TopUpOutputSerializer(many=True), 401: ERROR}, summary="My wallet top-ups")
    def get(self, request: Request) -> Response:
        queryset = WalletTopUp.objects.filter(client=request.user).order_by("-created_at", "-id")
        return self.paginated_response(request, queryset, TopUpOutputSerializer)

    @extend_schema(
        request=CreateInput,
        responses={201: TopUpCheckoutOutput, **REFUSALS},
        summary="Top up my wallet by card: the top-up and its PaymentIntent (within the limits)",
    )
    def post(self, request: Request) -> Response:
        data = self.CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        top_up = topups.top_up_create(client=request.user, **data.validated_data)
        checkout = topups.top_up_checkout_start(top_up=top_up, actor=request.user)
        return Response(TopUpCheckoutOutput(checkout).data, status=status.HTTP_201_CREATED)


class TopUpDetailApi(APIView):
    @extend_schema(responses={200: TopUpOutputSerializer, 401: ERROR, 404: ERROR}, summary="A wallet top-up")
    def get(self, request: Request, pk: int) -> Response:
        return Response(TopUpOutputSerializer(_top_up_for(request, pk)).data)


class TopUpConfirmApi(APIView):
    class ConfirmInput(serializers.Serializer):
        payment_method = PAYMENT_METHOD
        save_card = serializers.BooleanField(default=False, help_text="Keep a new card for later payments.")

    class ConfirmOutput(serializers.Serializer):
        status = serializers.CharField(help_text="succeeded, processing or requires_action.")
        redirect_url = serializers.CharField()

    @extend_schema(
        request=ConfirmInput,
        responses={200: ConfirmOutput, **REFUSALS},
        summary="Pay a top-up with a card (saved or test). The wallet is credited when Stripe confirms.",
    )
    def post(self, request: Request, pk: int) -> Response:
        top_up = _top_up_for(request, pk)
        data = self.ConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        attempt = topups.top_up_payment_confirm(
            top_up=top_up,
            actor=request.user,
            payment_method=data.validated_data["payment_method"],
            save_card=data.validated_data["save_card"],
            return_url=request.build_absolute_uri(reverse("payments:top_up", args=[top_up.pk])),
        )
        return Response(self.ConfirmOutput({"status": attempt.status, "redirect_url": attempt.redirect_url}).data)


class TopUpWithdrawApi(APIView):
    class WithdrawInput(serializers.Serializer):
        amount = AmountField(required=False, help_text="Leave out to withdraw all that can go back to the card.")

    class WithdrawOutput(serializers.Serializer):
        id = serializers.IntegerField()
        amount = serializers.DecimalField(max_digits=14, decimal_places=2)
        status = serializers.CharField()
        top_up = TopUpOutputSerializer()

    @extend_schema(
        request=WithdrawInput,
        responses={200: WithdrawOutput, **REFUSALS},
        summary="Send unused money of a top-up back to the card that paid it",
    )
    def post(self, request: Request, pk: int) -> Response:
        top_up = _top_up_for(request, pk)
        data = self.WithdrawInput(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = topups.top_up_withdraw(top_up=top_up, actor=request.user, amount=data.validated_data.get("amount"))
        top_up.refresh_from_db()
        return Response(
            self.WithdrawOutput(
                {"id": withdrawal.pk, "amount": withdrawal.amount, "status": withdrawal.status, "top_up": top_up}
            ).data
        )


class PaymentSheetApi(APIView):
    class SheetInput(serializers.Serializer):
        escrow = serializers.IntegerField(required=False, min_value=1, help_text="Pay this escrow (client).")
        top_up = serializers.IntegerField(required=False, min_value=1, help_text="Pay this wallet top-up.")

    class SheetOutput(serializers.Serializer):
        customer = serializers.CharField()
        ephemeral_key = serializers.CharField()
        publishable_key = serializers.CharField()
        payment_intent = serializers.CharField(source="payment_intent_client_secret", help_text="Its client secret.")
        setup_intent = serializers.CharField(
            source="setup_intent_client_secret", help_text="With neither escrow nor top-up: save a card."
        )

    @extend_schema(
        request=SheetInput,
        responses={200: SheetOutput, **REFUSALS},
        summary="What Stripe's mobile PaymentSheet needs: customer, ephemeral key, client secret, publishable key",
    )
    def post(self, request: Request) -> Response:
        data = self.SheetInput(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data.get("escrow") and data.validated_data.get("top_up"):
            raise ValidationError("Send an escrow or a top-up, not both.", code="payment_sheet_one_payment")
        secret = customer = reference = ""
        if data.validated_data.get("escrow"):
            checkout = services.escrow_checkout_start(
                escrow=escrow_for_request(request, data.validated_data["escrow"]), actor=request.user
            )
            secret, customer, reference = (
                checkout.client_secret,
                checkout.customer_reference,
                checkout.payment_reference,
            )
        elif data.validated_data.get("top_up"):
            checkout = topups.top_up_checkout_start(
                top_up=_top_up_for(request, data.validated_data["top_up"]), actor=request.user
            )
            secret, customer, reference = (
                checkout.client_secret,
                checkout.customer_reference,
                checkout.payment_reference,
            )
        sheet = cards.payment_sheet_for(
            user=request.user, payment_client_secret=secret, payment_customer=customer, payment_reference=reference
        )
        return Response(self.SheetOutput(sheet).data)
