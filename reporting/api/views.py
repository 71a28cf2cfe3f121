"""Reporting API: my payment history, my statistics, my receipts and statements (PDF).

Only one's own: there is no parameter naming another user, and another user's receipt is a 404.
Bad periods and filters get the one error shape with their own codes (``period_invalid``,
``status_invalid``, ``date_invalid``, …).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import Pagination
from reporting import receipts
from reporting.api import serializers as s
from reporting.selectors import history as history_selectors
from reporting.selectors.statistics import stats_query_parse, user_statistics

ERROR = OpenApiResponse(description='Error: {"error": {"code", "message", "details"}}')
PDF_RESPONSE = {(200, "application/pdf"): OpenApiTypes.BINARY, 401: ERROR, 404: ERROR}


class HistoryApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        parameters=[s.HistoryParams],
        responses={200: s.HistoryRowOutput(many=True), 400: ERROR, 401: ERROR, 404: ERROR},
        summary="My payment history: payments, refunds, returned payments, earnings, payouts, wallet top-ups and "
        "withdrawals; newest first",
    )
    def get(self, request: Request) -> Response:
        filters = history_selectors.history_filters_parse(request.query_params)
        rows = history_selectors.history_queryset(user=request.user, filters=filters)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        data = []
        for row in history_selectors.history_rows(list(page)):
            item = s.HistoryRowOutput(row).data
            item["receipt_url"] = _api_receipt_url(row)
            data.append(item)
        return paginator.get_paginated_response(data)


def _api_receipt_url(row) -> str:
    if not row.receipt_url:
        return ""
    if row.kind == "payment":
        return reverse("api-reporting-payment-receipt", kwargs={"escrow_id": row.id})
    if row.kind == "top_up":
        return reverse("api-reporting-top-up-receipt", kwargs={"top_up_id": row.id})
    return reverse("api-reporting-refund-receipt", kwargs={"refund_id": row.id})


class StatisticsApi(APIView):
    @extend_schema(
        parameters=[s.StatisticsParams],
        responses={200: s.StatisticsOutput, 400: ERROR, 401: ERROR},
        summary="My statistics for a period: count, total, fees, average, by status, per month",
    )
    def get(self, request: Request) -> Response:
        query = stats_query_parse(request.query_params)
        return Response(s.StatisticsOutput(user_statistics(user=request.user, query=query)).data)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=receipts.PDF)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


class PaymentReceiptApi(APIView):
    @extend_schema(responses=PDF_RESPONSE, summary="The PDF receipt of my payment into an escrow")
    def get(self, request: Request, escrow_id: int) -> HttpResponse:
        escrow = receipts.payment_for_receipt(escrow_id=escrow_id, user=request.user)
        return _pdf(
            receipts.payment_receipt_pdf(escrow), f"holdfast-receipt-{receipts.payment_receipt_number(escrow)}.pdf"
        )


class RefundReceiptApi(APIView):
    @extend_schema(responses=PDF_RESPONSE, summary="The PDF receipt of a refund to me")
    def get(self, request: Request, refund_id: int) -> HttpResponse:
        refund = receipts.refund_for_receipt(refund_id=refund_id, user=request.user)
        return _pdf(
            receipts.refund_receipt_pdf(refund), f"holdfast-refund-{receipts.refund_receipt_number(refund)}.pdf"
        )


class TopUpReceiptApi(APIView):
    @extend_schema(responses=PDF_RESPONSE, summary="The PDF receipt of my wallet top-up")
    def get(self, request: Request, top_up_id: int) -> HttpResponse:
        top_up = receipts.top_up_for_receipt(top_up_id=top_up_id, user=request.user)
        number = receipts.top_up_receipt_number(top_up)
        return _pdf(receipts.top_up_receipt_pdf(top_up), f"holdfast-top-up-{number}.pdf")


class EarningsStatementApi(APIView):
    @extend_schema(
        parameters=[
            s.StatementParams,
            OpenApiParameter(
                "month", str, OpenApiParameter.PATH, pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM"
            ),
        ],
        responses={**PDF_RESPONSE, 400: ERROR},
        summary="My statement of earnings for a month (PDF)",
    )
    def get(self, request: Request, month: str) -> HttpResponse:
        from django.conf import settings

        tasker = receipts.statement_subject(user=request.user, tasker_id=None)
        first = receipts.parse_month(month)
        currency = request.query_params.get("currency") or settings.DEFAULT_CURRENCY
        pdf = receipts.earnings_statement_pdf(tasker=tasker, month=first, currency=currency)
        number = receipts.statement_number(tasker=tasker, month=first, currency=currency.upper())
        return _pdf(pdf, f"holdfast-statement-{number}.pdf")
