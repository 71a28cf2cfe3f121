"""Dispute REST API: one view per operation, thin, calling services and selectors.

Only a dispute's parties reach it (Support works in the admin); for anyone else it is a 404, and
so is an escrow that is not theirs. Refusals from the services reach the caller in the one error
shape (``dispute_already_open``, ``escrow_not_disputable``, ``file_type_invalid``…).
"""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import AmountField, PaginatedListMixin, optional_text, required_text
from disputes import selectors, services
from disputes.api.serializers import (
    DisputeDetailOutputSerializer,
    DisputeMessageOutputSerializer,
    DisputeOutputSerializer,
    EvidenceOutputSerializer,
)
from disputes.models import Dispute
from disputes.services.common import TEXT_MAX_LENGTH
from payments.selectors import escrow_get_for_party

ERROR = OpenApiResponse(description='Error: {"error": {"code", "message", "details"}}')
REFUSALS = {400: ERROR, 401: ERROR, 402: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 503: ERROR}


def _dispute(request: Request, pk: int) -> Dispute:
    return selectors.dispute_get_for_user(dispute_id=pk, user=request.user)


def _detail(request: Request, dispute: Dispute, status: int = 200) -> Response:
    dispute = _dispute(request, dispute.pk)
    return Response(DisputeDetailOutputSerializer(dispute, context={"user": request.user}).data, status=status)


class DisputeListApi(PaginatedListMixin, APIView):
    class FilterInput(serializers.Serializer):
        status = serializers.ChoiceField(choices=Dispute.Status.choices, required=False, allow_blank=True)

    @extend_schema(
        parameters=[FilterInput],
        responses={200: DisputeOutputSerializer(many=True), 400: ERROR, 401: ERROR},
        summary="My disputes (as client or tasker)",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.dispute_list_for_user(user=request.user, status=filters.validated_data.get("status", ""))
        return self.paginated_response(request, queryset, DisputeOutputSerializer, context={"user": request.user})


class DisputeOpenApi(APIView):
    class OpenInput(serializers.Serializer):
        reason = serializers.ChoiceField(choices=Dispute.Reason.choices)
        description = required_text(max_length=TEXT_MAX_LENGTH)
        amount_in_question = AmountField(required=False, help_text="Defaults to everything the escrow holds.")

    @extend_schema(
        request=OpenInput,
        responses={201: DisputeDetailOutputSerializer, **REFUSALS},
        summary="Open a dispute on an escrow (client or tasker): the escrow is frozen",
    )
    def post(self, request: Request, pk: int) -> Response:
        escrow = escrow_get_for_party(escrow_id=pk, user=request.user)
        data = self.OpenInput(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = services.dispute_open(escrow=escrow, actor=request.user, **data.validated_data)
        return _detail(request, dispute, status=201)


class DisputeDetailApi(APIView):
    @extend_schema(
        responses={200: DisputeDetailOutputSerializer, 401: ERROR, 404: ERROR},
        summary="A dispute: its thread, evidence and timeline",
    )
    def get(self, request: Request, pk: int) -> Response:
        return _detail(request, _dispute(request, pk))


class DisputeMessageApi(APIView):
    class MessageInput(serializers.Serializer):
        body = required_text(max_length=TEXT_MAX_LENGTH)

    @extend_schema(
        request=MessageInput,
        responses={201: DisputeMessageOutputSerializer, **REFUSALS},
        summary="Post a message in the dispute's thread",
    )
    def post(self, request: Request, pk: int) -> Response:
        dispute = _dispute(request, pk)
        data = self.MessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.dispute_message_post(dispute=dispute, actor=request.user, body=data.validated_data["body"])
        return Response(DisputeMessageOutputSerializer(message).data, status=201)


class DisputeEvidenceApi(APIView):
    parser_classes = [MultiPartParser]

    class EvidenceInput(serializers.Serializer):
        file = serializers.FileField(
            allow_empty_file=True, use_url=False, help_text="An image (PNG, JPEG, GIF, WebP) or a PDF, at most 5 MB."
        )
        description = optional_text(max_length=300)

    @extend_schema(
        request={"multipart/form-data": EvidenceInput},
        responses={201: EvidenceOutputSerializer, **REFUSALS},
        summary="Add an evidence file (multipart/form-data)",
    )
    def post(self, request: Request, pk: int) -> Response:
        dispute = _dispute(request, pk)
        data = self.EvidenceInput(data=request.data)
        data.is_valid(raise_exception=True)
        evidence = services.dispute_evidence_add(
            dispute=dispute,
            actor=request.user,
            upload=data.validated_data["file"],
            description=data.validated_data.get("description", ""),
        )
        return Response(EvidenceOutputSerializer(evidence).data, status=201)


class DisputeEvidenceDownloadApi(APIView):
    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 401: ERROR, 404: ERROR},
        summary="Download an evidence file (the dispute's parties only)",
    )
    def get(self, request: Request, pk: int, evidence_id: int) -> FileResponse:
        evidence = selectors.evidence_get_for_user(dispute_id=pk, evidence_id=evidence_id, user=request.user)
        return evidence_file_response(evidence)


def evidence_file_response(evidence) -> FileResponse:
    """The file through the storage API, as an attachment under its (checked) original name."""
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


class DisputeSettlementProposeApi(APIView):
    class ProposeInput(serializers.Serializer):
        tasker_amount = AmountField(help_text="What goes to the tasker's side of the held money; the rest is refunded.")

    @extend_schema(
        request=ProposeInput,
        responses={200: DisputeDetailOutputSerializer, **REFUSALS},
        summary="Propose a settlement (a party); the other party accepts it",
    )
    def post(self, request: Request, pk: int) -> Response:
        dispute = _dispute(request, pk)
        data = self.ProposeInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.dispute_settlement_propose(
            dispute=dispute, actor=request.user, tasker_amount=data.validated_data["tasker_amount"]
        )
        return _detail(request, dispute)


class DisputeSettlementAcceptApi(APIView):
    class AcceptInput(serializers.Serializer):
        tasker_amount = AmountField(required=False, help_text="The amount you accept, as proposed (checked).")

    @extend_schema(
        request=AcceptInput,
        responses={200: DisputeDetailOutputSerializer, **REFUSALS},
        summary="Accept the other party's settlement: it is carried out as a ruling",
    )
    def post(self, request: Request, pk: int) -> Response:
        dispute = _dispute(request, pk)
        data = self.AcceptInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.dispute_settlement_accept(
            dispute=dispute, actor=request.user, tasker_amount=data.validated_data.get("tasker_amount")
        )
        return _detail(request, dispute)


class DisputeWithdrawApi(APIView):
    @extend_schema(
        request=None,
        responses={200: DisputeDetailOutputSerializer, **REFUSALS},
        summary="Withdraw the dispute (its opener, before a ruling): the escrow is released from the hold",
    )
    def post(self, request: Request, pk: int) -> Response:
        dispute = _dispute(request, pk)
        services.dispute_withdraw(dispute=dispute, actor=request.user)
        return _detail(request, dispute)


class DisputeEscalateApi(APIView):
    @extend_schema(
        request=None,
        responses={200: DisputeDetailOutputSerializer, **REFUSALS},
        summary="Ask Support to decide now",
    )
    def post(self, request: Request, pk: int) -> Response:
        dispute = _dispute(request, pk)
        services.dispute_escalate(dispute=dispute, actor=request.user)
        return _detail(request, dispute)
