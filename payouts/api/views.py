"""Payout REST API for the apps: the same operations as the Get paid pages. One view per
operation, thin; another tasker's payout is a 404. Refusals come in the one error shape."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import AmountField, CurrencyField, PaginatedListMixin
from core.errors import NotFound
from payouts import selectors, services
from payouts.api.serializers import (
    PayoutAccountOutputSerializer,
    PayoutDetailOutputSerializer,
    PayoutOptionOutputSerializer,
    PayoutOutputSerializer,
)
from payouts.models import Payout, PayoutAccount

ERROR = OpenApiResponse(description='Error: {"error": {"code", "message", "details"}}')
REFUSALS = {400: ERROR, 401: ERROR, 402: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 503: ERROR}

LinkOutput = inline_serializer("PayoutLink", {"url": serializers.URLField()})


def _links(request: Request) -> dict[str, str]:
    return {
        "refresh_url": request.build_absolute_uri(reverse("payouts:onboarding_refresh")),
        "return_url": request.build_absolute_uri(reverse("payouts:onboarding_return")),
    }


def _account_or_404(request: Request) -> PayoutAccount:
    account = selectors.payout_account_for(user=request.user)
    if account is None:
        raise NotFound("You have no payout account yet.", code="payout_account_missing")
    return account


class PayoutAccountApi(APIView):
    @extend_schema(
        responses={200: PayoutAccountOutputSerializer, 401: ERROR, 404: ERROR, 503: ERROR},
        summary="My payout account: status, what Stripe still needs, bank summary (read again from Stripe)",
    )
    def get(self, request: Request) -> Response:
        _account_or_404(request)
        account = services.payout_account_refresh(user=request.user)
        return Response(PayoutAccountOutputSerializer(account).data)

    @extend_schema(
        request=None,
        responses={200: LinkOutput, **REFUSALS},
        summary="Set up payouts: make my Stripe account (once) and get a Stripe onboarding link",
    )
    def post(self, request: Request) -> Response:
        return Response({"url": services.payout_onboarding_link(user=request.user, **_links(request))})


class PayoutDashboardLinkApi(APIView):
    @extend_schema(
        request=None, responses={200: LinkOutput, **REFUSALS}, summary="A link to my Stripe Express dashboard"
    )
    def post(self, request: Request) -> Response:
        return Response({"url": services.payout_dashboard_link(user=request.user)})


class PayoutScheduleApi(APIView):
    class ScheduleInput(serializers.Serializer):
        schedule = serializers.ChoiceField(choices=PayoutAccount.Schedule.choices)
        currency = CurrencyField(required=False)
        threshold = AmountField(required=False, allow_null=True)

    @extend_schema(
        request=ScheduleInput,
        responses={200: PayoutAccountOutputSerializer, **REFUSALS},
        summary="Choose automatic payouts: manual, weekly or monthly, above a threshold",
    )
    def put(self, request: Request) -> Response:
        data = self.ScheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.payout_schedule_set(
            user=request.user,
            schedule=data.validated_data["schedule"],
            currency=data.validated_data.get("currency"),
            threshold=data.validated_data.get("threshold"),
        )
        return Response(PayoutAccountOutputSerializer(account).data)


class PayoutOptionsApi(APIView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "PayoutOptions",
                {
                    "results": PayoutOptionOutputSerializer(many=True),
                    "arrival_estimate": serializers.DateTimeField(),
                },
            ),
            401: ERROR,
        },
        summary="What I can pay out per currency: available, minimum, fee; and when it would arrive",
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "results": PayoutOptionOutputSerializer(selectors.payout_options(user=request.user), many=True).data,
                "arrival_estimate": serializers.DateTimeField().to_representation(selectors.arrival_estimate()),
            }
        )


def _detail(payout: Payout) -> Response:
    payout.statement_lines = selectors.payout_statement(payout=payout)
    payout.timeline = list(payout.events.order_by("created_at", "id"))
    return Response(PayoutDetailOutputSerializer(payout).data)


class PayoutListApi(PaginatedListMixin, APIView):
    class FilterInput(serializers.Serializer):
        status = serializers.ChoiceField(choices=Payout.Status.choices, required=False, allow_blank=True)

    class RequestInput(serializers.Serializer):
        amount = AmountField()
        currency = CurrencyField()

    @extend_schema(
        parameters=[FilterInput],
        responses={200: PayoutOutputSerializer(many=True), 400: ERROR, 401: ERROR},
        summary="My payouts, newest first",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        payouts = selectors.payout_list_for_tasker(user=request.user, status=filters.validated_data.get("status", ""))
        return self.paginated_response(request, payouts, PayoutOutputSerializer)

    @extend_schema(
        request=RequestInput,
        responses={201: PayoutDetailOutputSerializer, **REFUSALS},
        summary="Request a payout of my available balance (minimum, fee and balance checked)",
    )
    def post(self, request: Request) -> Response:
        data = self.RequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        payout = services.payout_request(
            tasker=request.user, amount=data.validated_data["amount"], currency=data.validated_data["currency"]
        )
        response = _detail(selectors.payout_get_for_tasker(payout_id=payout.pk, user=request.user))
        response.status_code = 201
        return response


class PayoutDetailApi(APIView):
    @extend_schema(
        responses={200: PayoutDetailOutputSerializer, 401: ERROR, 404: ERROR},
        summary="A payout with its timeline and statement (which tasks its money came from)",
    )
    def get(self, request: Request, pk: int) -> Response:
        return _detail(selectors.payout_get_for_tasker(payout_id=pk, user=request.user))


class PayoutCancelApi(APIView):
    @extend_schema(
        request=None,
        responses={200: PayoutDetailOutputSerializer, **REFUSALS},
        summary="Cancel my payout before it is sent; the money goes back to my wallet",
    )
    def post(self, request: Request, pk: int) -> Response:
        payout = selectors.payout_get_for_tasker(payout_id=pk, user=request.user)
        services.payout_cancel(payout=payout, actor=request.user)
        return _detail(selectors.payout_get_for_tasker(payout_id=pk, user=request.user))


class PayoutRetryApi(APIView):
    @extend_schema(
        request=None,
        responses={200: PayoutDetailOutputSerializer, **REFUSALS},
        summary="Retry my failed payout (after fixing the bank details)",
    )
    def post(self, request: Request, pk: int) -> Response:
        payout = selectors.payout_get_for_tasker(payout_id=pk, user=request.user)
        services.payout_retry(payout=payout, actor=request.user)
        return _detail(selectors.payout_get_for_tasker(payout_id=pk, user=request.user))
