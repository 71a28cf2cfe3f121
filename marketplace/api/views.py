"""Marketplace REST API: one view per endpoint, thin, calling services and selectors.

Object access goes through the visibility selectors, so another user's private task or offer
is a 404, never a 403.
"""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import CurrencyField, PaginatedListMixin, Pagination, optional_text, required_text
from core.errors import ValidationError
from marketplace import selectors, services
from marketplace.api.serializers import (
    MoneyInputSerializer,
    MoneyPatchSerializer,
    OfferOutputSerializer,
    TaskOutputSerializer,
    task_list_data,
)
from marketplace.models import Offer, Task
from marketplace.services import (  # the limits the services enforce: the models' columns
    DESCRIPTION_MAX_LENGTH,
    MESSAGE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from payments.api.serializers import EscrowDetailOutputSerializer
from payments.api.views import REFUSALS as PAYMENT_REFUSALS
from payments.api.views import escrow_detail_response, escrow_for_request

ERROR = OpenApiResponse(description='Error: {"error": {"code", "message", "details"}}')
REFUSALS = {400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR}


def _task(request: Request, pk: int) -> Task:
    return selectors.task_get_visible(task_id=pk, user=request.user)


def _task_response(task: Task) -> Response:
    return Response(TaskOutputSerializer(task).data)


# --- tasks --------------------------------------------------------------------------------------


# Budgets are below one trillion with at most two decimal places; the selector refuses anything else.
BUDGET_FILTER_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


@extend_schema_field(
    {"type": "string", "pattern": r"^([0-9]{1,12}(\.[0-9]{1,2})?)?$", "description": "An amount like 49.99."}
)
class BudgetFilterField(serializers.CharField):
    def __init__(self, **kwargs) -> None:
        super().__init__(required=False, allow_blank=True, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: object) -> str:
        text = super().to_internal_value(data)
        if text and not re.fullmatch(BUDGET_FILTER_PATTERN, text):
            raise ValidationError(
                "Enter the budget filter as an amount below one trillion with at most two decimal places, like 49.99.",
                code="filter_invalid",
                details={"field": self.field_name},
            )
        return text


class BrowsePagination(Pagination):
    """A page of open tasks and their count in one statement (``selectors.BrowsePaginator``)."""

    django_paginator_class = selectors.BrowsePaginator


class TaskListApi(PaginatedListMixin, APIView):
    pagination_class = BrowsePagination

    class TaskFilterInput(serializers.Serializer):
        q = optional_text(
            max_length=200,
            help_text='Full-text search of title and description: any word order, word stems, "a phrase", -exclude.',
        )
        category = serializers.ChoiceField(required=False, allow_blank=True, choices=Task.Category.choices)
        currency = CurrencyField(required=False, allow_blank=True)
        min_budget = BudgetFilterField()
        max_budget = BudgetFilterField()
        # "relevance" (the default): best match first when searching, newest first otherwise.
        ordering = serializers.ChoiceField(
            required=False, allow_blank=True, choices=list(selectors.TASK_ORDERINGS), default="relevance"
        )

    class TaskCreateInput(serializers.Serializer):
        title = required_text(max_length=TITLE_MAX_LENGTH)
        description = required_text(max_length=DESCRIPTION_MAX_LENGTH)
        category = serializers.ChoiceField(choices=Task.Category.choices)
        budget = MoneyInputSerializer()

    def get_permissions(self):
        if self.request.method == "GET":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        parameters=[TaskFilterInput],
        responses={200: TaskOutputSerializer(many=True), 400: ERROR},
        summary="Browse open tasks",
        auth=[],
    )
    def get(self, request: Request) -> Response:
        filters = self.TaskFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.task_list_open(**filters.validated_data), request, view=self)
        return paginator.get_paginated_response(task_list_data(page))

    @extend_schema(request=TaskCreateInput, responses={201: TaskOutputSerializer, **REFUSALS}, summary="Post a task")
    def post(self, request: Request) -> Response:
        data = self.TaskCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        task = services.task_post(
            client=request.user,
            title=fields["title"],
            description=fields["description"],
            category=fields["category"],
            budget_amount=fields["budget"]["amount"],
            budget_currency=fields["budget"]["currency"],
        )
        return Response(TaskOutputSerializer(task).data, status=status.HTTP_201_CREATED)


def _status_filter_input(model) -> type[serializers.Serializer]:
    """The ``?status=`` filter of a "mine" list: one of the model's statuses, or blank for all."""
    return type(
        f"{model.__name__}StatusFilterInput",
        (serializers.Serializer,),
        {"status": serializers.ChoiceField(choices=model.Status.choices, required=False, allow_blank=True)},
    )


def _status_filter(request: Request, filter_input: type[serializers.Serializer]) -> str:
    filters = filter_input(data=request.query_params)
    filters.is_valid(raise_exception=True)
    return filters.validated_data.get("status", "")


TaskStatusFilterInput = _status_filter_input(Task)
OfferStatusFilterInput = _status_filter_input(Offer)


class TaskMineApi(PaginatedListMixin, APIView):
    @extend_schema(
        parameters=[TaskStatusFilterInput], responses={200: TaskOutputSerializer(many=True)}, summary="Tasks I posted"
    )
    def get(self, request: Request) -> Response:
        status_filter = _status_filter(request, TaskStatusFilterInput)
        queryset = selectors.task_list_for_client(client=request.user, status=status_filter)
        return self.paginated_response(request, queryset, TaskOutputSerializer)


class TaskDetailApi(APIView):
    class TaskUpdateInput(serializers.Serializer):
        title = required_text(max_length=TITLE_MAX_LENGTH, required=False)
        description = required_text(max_length=DESCRIPTION_MAX_LENGTH, required=False)
        category = serializers.ChoiceField(choices=Task.Category.choices, required=False)
        budget = MoneyPatchSerializer(required=False)

    def get_permissions(self):
        # Open tasks are public; the selector hides everything else from anonymous callers.
        if self.request.method == "GET":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(responses={200: TaskOutputSerializer, 404: ERROR}, summary="A task")
    def get(self, request: Request, pk: int) -> Response:
        return _task_response(_task(request, pk))

    @extend_schema(
        request=TaskUpdateInput, responses={200: TaskOutputSerializer, **REFUSALS}, summary="Edit an open task"
    )
    def patch(self, request: Request, pk: int) -> Response:
        task = _task(request, pk)
        data = self.TaskUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        budget = fields.pop("budget", {})
        task = services.task_update(
            task=task,
            actor=request.user,
            budget_amount=budget.get("amount"),
            budget_currency=budget.get("currency"),
            **fields,
        )
        return _task_response(selectors.task_get_visible(task_id=task.pk, user=request.user))


# Cancelling and asking for changes are task actions the escrow API offers too (on the escrow's
# task): both APIs take the same input and call the same service through these.


class TaskCancelInput(serializers.Serializer):
    reason = optional_text(max_length=REASON_MAX_LENGTH)


class TaskRequestChangesInput(serializers.Serializer):
    reason = required_text(max_length=REASON_MAX_LENGTH, help_text="What to change; the tasker sees it.")


def task_cancel_from_request(request: Request, task: Task) -> Task:
    data = TaskCancelInput(data=request.data)
    data.is_valid(raise_exception=True)
    return services.task_cancel(task=task, actor=request.user, **data.validated_data)


def task_request_changes_from_request(request: Request, task: Task) -> Task:
    data = TaskRequestChangesInput(data=request.data)
    data.is_valid(raise_exception=True)
    return services.task_request_changes(task=task, actor=request.user, **data.validated_data)


class TaskCancelApi(APIView):
    @extend_schema(request=TaskCancelInput, responses={200: TaskOutputSerializer, **REFUSALS}, summary="Cancel a task")
    def post(self, request: Request, pk: int) -> Response:
        return _task_response(task_cancel_from_request(request, _task(request, pk)))


class TaskDeliverApi(APIView):
    class TaskDeliverInput(serializers.Serializer):
        note = optional_text(max_length=REASON_MAX_LENGTH)

    @extend_schema(
        request=TaskDeliverInput, responses={200: TaskOutputSerializer, **REFUSALS}, summary="Mark delivered (tasker)"
    )
    def post(self, request: Request, pk: int) -> Response:
        data = self.TaskDeliverInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_mark_delivered(task=_task(request, pk), actor=request.user, **data.validated_data)
        return _task_response(task)


class TaskRequestChangesApi(APIView):
    @extend_schema(
        request=TaskRequestChangesInput,
        responses={200: TaskOutputSerializer, **REFUSALS},
        summary="Send delivered work back (client)",
    )
    def post(self, request: Request, pk: int) -> Response:
        return _task_response(task_request_changes_from_request(request, _task(request, pk)))


class TaskCompleteApi(APIView):
    @extend_schema(request=None, responses={200: TaskOutputSerializer, **REFUSALS}, summary="Approve the work (client)")
    def post(self, request: Request, pk: int) -> Response:
        return _task_response(services.task_complete(task=_task(request, pk), actor=request.user))


# --- offers -------------------------------------------------------------------------------------


class TaskOffersApi(PaginatedListMixin, APIView):
    class OfferSubmitInput(serializers.Serializer):
        amount = MoneyInputSerializer()
        message = optional_text(max_length=MESSAGE_MAX_LENGTH)

    @extend_schema(
        responses={200: OfferOutputSerializer(many=True)},
        summary="Offers on a task (the client sees all, a tasker only their own)",
    )
    def get(self, request: Request, pk: int) -> Response:
        task = _task(request, pk)
        offers = selectors.offer_list_for_task(task=task, user=request.user)
        return self.paginated_response(request, offers, OfferOutputSerializer)

    @extend_schema(
        request=OfferSubmitInput, responses={201: OfferOutputSerializer, **REFUSALS}, summary="Make an offer (tasker)"
    )
    def post(self, request: Request, pk: int) -> Response:
        task = _task(request, pk)
        data = self.OfferSubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        offer = services.offer_submit(
            task=task,
            tasker=request.user,
            amount=fields["amount"]["amount"],
            currency=fields["amount"]["currency"],
            message=fields["message"],
        )
        return Response(OfferOutputSerializer(offer).data, status=status.HTTP_201_CREATED)


class OfferMineApi(PaginatedListMixin, APIView):
    @extend_schema(
        parameters=[OfferStatusFilterInput], responses={200: OfferOutputSerializer(many=True)}, summary="Offers I made"
    )
    def get(self, request: Request) -> Response:
        status_filter = _status_filter(request, OfferStatusFilterInput)
        queryset = selectors.offer_list_for_tasker(tasker=request.user, status=status_filter)
        return self.paginated_response(request, queryset, OfferOutputSerializer)


def _offer(request: Request, pk: int) -> Offer:
    return selectors.offer_get_visible(offer_id=pk, user=request.user)


class OfferDetailApi(APIView):
    @extend_schema(responses={200: OfferOutputSerializer, 401: ERROR, 404: ERROR}, summary="An offer")
    def get(self, request: Request, pk: int) -> Response:
        return Response(OfferOutputSerializer(_offer(request, pk)).data)


class OfferWithdrawApi(APIView):
    @extend_schema(request=None, responses={200: OfferOutputSerializer, **REFUSALS}, summary="Withdraw my offer")
    def post(self, request: Request, pk: int) -> Response:
        offer = services.offer_withdraw(offer=_offer(request, pk), actor=request.user)
        return Response(OfferOutputSerializer(offer).data)


class OfferAcceptApi(APIView):
    @extend_schema(
        request=None,
        responses={200: OfferOutputSerializer, **REFUSALS},
        summary="Accept an offer (client); the task becomes assigned",
    )
    def post(self, request: Request, pk: int) -> Response:
        offer = services.offer_accept(offer=_offer(request, pk), actor=request.user)
        return Response(OfferOutputSerializer(offer).data)


class OfferRejectApi(APIView):
    class OfferRejectInput(serializers.Serializer):
        reason = optional_text(max_length=REASON_MAX_LENGTH)

    @extend_schema(
        request=OfferRejectInput,
        responses={200: OfferOutputSerializer, **REFUSALS},
        summary="Decline an offer (client)",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = self.OfferRejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        offer = services.offer_reject(offer=_offer(request, pk), actor=request.user, **data.validated_data)
        return Response(OfferOutputSerializer(offer).data)


# --- the escrow's task operations -----------------------------------------------------------------
# Addressed by escrow id for the mobile apps' payment screen; they act on the escrow's task, so the
# task moves with its escrows. They live here, above payments, and answer with the escrow.


class EscrowRequestChangesApi(APIView):
    @extend_schema(
        request=TaskRequestChangesInput,
        responses={200: EscrowDetailOutputSerializer, **PAYMENT_REFUSALS},
        summary="Send delivered work back (client); the automatic release stops",
    )
    def post(self, request: Request, pk: int) -> Response:
        escrow = escrow_for_request(request, pk)
        task_request_changes_from_request(request, escrow.task)
        return escrow_detail_response(request, escrow)


class EscrowCancelApi(APIView):
    @extend_schema(
        request=TaskCancelInput,
        responses={200: EscrowDetailOutputSerializer, **PAYMENT_REFUSALS},
        summary="Cancel the task before delivery (client); a paid escrow is refunded in full",
    )
    def post(self, request: Request, pk: int) -> Response:
        escrow = escrow_for_request(request, pk)
        task_cancel_from_request(request, escrow.task)
        return escrow_detail_response(request, escrow)
