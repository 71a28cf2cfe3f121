"""Escrow REST API: one view per operation, thin, calling services and selectors.

Only the escrow's client and tasker can reach it; for anyone else it is a 404. Refusals from
the services (``escrow_not_funded``, ``card_declined``…) reach the caller in the one error shape.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import PaginatedListMixin
from core.errors import PermissionDenied
from payments import escrow as services
from payments import selectors
from payments.api.serializers import EscrowDetailOutputSerializer, EscrowOutputSerializer, escrow_detail_data
from payments.models import Escrow

ERROR = OpenApiResponse(description='Error: {"error": {"code", "message", "details"}}')
REFUSALS = {400: ERROR, 401: ERROR, 402: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 503: ERROR}


def escrow_for_request(request: Request, pk: int) -> Escrow:
    return selectors.escrow_get_for_party(escrow_id=pk, user=request.user)


def escrow_detail_response(request: Request, escrow: Escrow) -> Response:
    escrow = escrow_for_request(request, escrow.pk)  # re-read: services may have moved it on
    return Response(EscrowDetailOutputSerializer(escrow, context={"user": request.user}).data)


class EscrowListApi(PaginatedListMixin, APIView):
    class FilterInput(serializers.Serializer):
        status = serializers.ChoiceField(choices=Escrow.Status.choices, required=False, allow_blank=True)

    @extend_schema(
        parameters=[FilterInput],
        responses={200: EscrowOutputSerializer(many=True), 400: ERROR, 401: ERROR},
        summary="My escrows (as client or tasker)",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.escrow_list_for_user(user=request.user, status=filters.validated_data.get("status", ""))
        return self.paginated_response(request, queryset, EscrowOutputSerializer, context={"user": request.user})


class EscrowDetailApi(APIView):
    @extend_schema(
        responses={200: EscrowDetailOutputSerializer, 401: ERROR, 404: ERROR},
        summary="An escrow: my side of the breakdown, and its timeline",
    )
    def get(self, request: Request, pk: int) -> Response:
        # One statement for the escrow, its task and the caller's timeline (not two reads of it).
        return Response(escrow_detail_data(selectors.escrow_detail_get_for_party(escrow_id=pk, user=request.user)))


class EscrowCheckoutApi(APIView):
    class CheckoutOutput(serializers.Serializer):
        client_secret = serializers.CharField(help_text="For Stripe's mobile SDKs / Stripe.js.")
        publishable_key = serializers.CharField()
        payment_intent_id = serializers.CharField()
        amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="The total to pay.")
        currency = serializers.CharField()

    @extend_schema(
        request=None,
        responses={200: CheckoutOutput, **REFUSALS},
        summary="Start paying (client): the PaymentIntent's client secret. Repeatable.",
    )
    def post(self, request: Request, pk: int) -> Response:
        checkout = services.escrow_checkout_start(escrow=escrow_for_request(request, pk), actor=request.user)
        escrow = checkout.escrow
        return Response(
            self.CheckoutOutput(
                {
                    "client_secret": checkout.client_secret,
                    "publishable_key": checkout.publishable_key,
                    "payment_intent_id": checkout.payment_reference,
                    "amount": escrow.client_total,
                    "currency": escrow.currency,
                }
            ).data
        )


class EscrowConfirmApi(APIView):
    class ConfirmInput(serializers.Serializer):
        payment_method = serializers.RegexField(
            r"^[A-Za-z0-9_]+$", max_length=255, help_text="A PaymentMethod id, e.g. pm_card_visa, or a saved card."
        )
        save_card = serializers.BooleanField(default=False, help_text="Keep a new card for later payments.")

    class ConfirmOutput(serializers.Serializer):
        status = serializers.CharField(help_text="succeeded, processing or requires_action.")
        redirect_url = serializers.CharField(help_text="With requires_action: open it to authenticate the card.")

    @extend_schema(
        request=ConfirmInput,
        responses={200: ConfirmOutput, **REFUSALS},
        summary="Pay with a payment method (client). The escrow is funded when Stripe confirms.",
    )
    def post(self, request: Request, pk: int) -> Response:
        escrow = escrow_for_request(request, pk)
        data = self.ConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        attempt = services.escrow_payment_confirm(
            escrow=escrow,
            actor=request.user,
            payment_method=data.validated_data["payment_method"],
            return_url=request.build_absolute_uri(reverse("payments:escrow_detail", args=[escrow.pk])),
            save_card=data.validated_data["save_card"],
        )
        return Response(self.ConfirmOutput({"status": attempt.status, "redirect_url": attempt.redirect_url}).data)


class EscrowApproveApi(APIView):
    @extend_schema(
        request=None,
        responses={200: EscrowDetailOutputSerializer, **REFUSALS},
        summary="Approve the work and release the payment to the tasker (client)",
    )
    def post(self, request: Request, pk: int) -> Response:
        escrow = escrow_for_request(request, pk)
        if escrow.client_id != request.user.pk:
            raise PermissionDenied("Only the client can approve the work.", code="not_escrow_client")
        return escrow_detail_response(request, services.escrow_approve(escrow=escrow, actor=request.user))
