"""Pages: payment history (filters, search, pages, CSV), statistics with charts, PDF receipts."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.errors import ApplicationError, NotFound
from core.money import supported_currencies
from core.templatetags.holdfast import format_month
from reporting import receipts
from reporting.periods import PERIODS
from reporting.selectors import history as history_selectors
from reporting.selectors.statistics import stats_query_parse, user_currencies, user_statistics


class _Echo:
    def write(self, value):
        return value


def _history(request):
    """The parsed filters and the matching rows' query, or the error the page shows."""
    try:
        filters = history_selectors.history_filters_parse(request.GET)
    except ApplicationError as error:
        return None, None, error
    return filters, history_selectors.history_queryset(user=request.user, filters=filters), None


@login_required
@require_GET
def history(request):
    filters, rows, error = _history(request)
    page = Paginator(rows if rows is not None else [], settings.REPORTING_HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters or history_selectors.HistoryFilters(),
        "error": error,
        "page": page,
        "rows": history_selectors.history_rows(list(page.object_list)) if rows is not None else [],
        "query": query.urlencode(),
        "periods": [("", "All time"), *[(p, p) for p in PERIODS]],
        "roles": [("", "As client and tasker"), ("client", "As client"), ("tasker", "As tasker")],
        "kinds": [(s.kind, s.label) for s in history_selectors.history_sources()],
        "statuses": history_selectors.history_statuses(),
        "currencies": supported_currencies(),
        "statement_months": receipts.statement_months(user=request.user),
    }
    return render(request, "reporting/history.html", context, status=400 if error else 200)


@login_required
@require_GET
def history_csv(request):
    """The whole filtered history as CSV, streamed. A bad filter is a 400 with the sentence."""
    filters, rows, error = _history(request)
    if error:
        return HttpResponse(f"{error.message} ({error.code})\n", status=400, content_type="text/plain")
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(line) for line in history_selectors.history_csv_lines(rows)), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="holdfast-payment-history.csv"'
    return response


@login_required
@require_GET
def statistics(request):
    try:
        query = stats_query_parse(request.GET)
    except ApplicationError as error:
        return render(
            request,
            "reporting/statistics.html",
            {"error": error, "periods": PERIODS, "currencies": user_currencies(user=request.user)},
            status=400,
        )
    figures = user_statistics(user=request.user, query=query)
    charts = {
        "currency": query.currency,
        "months": [format_month(row["month"]) for row in figures["monthly_trend"]],
        "amounts": [str(row["amount"]) for row in figures["monthly_trend"]],
        "counts": [row["count"] for row in figures["monthly_trend"]],
        "statuses": [row["status"].replace("_", " ") for row in figures["status_breakdown"]],
        "status_counts": [row["count"] for row in figures["status_breakdown"]],
    }
    return render(
        request,
        "reporting/statistics.html",
        {
            "query": query,
            "figures": figures,
            "charts": charts,
            "periods": PERIODS,
            "currencies": user_currencies(user=request.user),
        },
    )


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=receipts.PDF)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _or_404(call):
    try:
        return call()
    except NotFound as error:
        raise Http404(error.message) from None


@login_required
@require_GET
def payment_receipt(request, escrow_id: int):
    escrow = _or_404(lambda: receipts.payment_for_receipt(escrow_id=escrow_id, user=request.user))
    return _pdf(receipts.payment_receipt_pdf(escrow), f"holdfast-receipt-{receipts.payment_receipt_number(escrow)}.pdf")


@login_required
@require_GET
def refund_receipt(request, refund_id: int):
    refund = _or_404(lambda: receipts.refund_for_receipt(refund_id=refund_id, user=request.user))
    return _pdf(receipts.refund_receipt_pdf(refund), f"holdfast-refund-{receipts.refund_receipt_number(refund)}.pdf")


@login_required
@require_GET
def top_up_receipt(request, top_up_id: int):
    top_up = _or_404(lambda: receipts.top_up_for_receipt(top_up_id=top_up_id, user=request.user))
    return _pdf(receipts.top_up_receipt_pdf(top_up), f"holdfast-top-up-{receipts.top_up_receipt_number(top_up)}.pdf")


@login_required
@require_GET
def earnings_statement(request, month: str, currency: str):
    tasker_param = request.GET.get("tasker") or ""
    tasker_id = int(tasker_param) if tasker_param.isdigit() and len(tasker_param) < 10 else None
    tasker = _or_404(lambda: receipts.statement_subject(user=request.user, tasker_id=tasker_id))
    try:
        first = receipts.parse_month(month)
        pdf = receipts.earnings_statement_pdf(tasker=tasker, month=first, currency=currency)
    except ApplicationError as error:
        return HttpResponse(f"{error.message} ({error.code})\n", status=400, content_type="text/plain")
    number = receipts.statement_number(tasker=tasker, month=first, currency=currency.upper())
    return _pdf(pdf, f"holdfast-statement-{number}.pdf")
