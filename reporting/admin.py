"""Back office: Finance's revenue dashboard and the transaction search.

Both are read-only pages under Reporting in the admin. The dashboard needs
``reporting.view_revenue_dashboard``, the search ``reporting.search_transactions`` (both given to
Finance by ``accounts.roles``); superusers have both.
"""

from __future__ import annotations

import csv

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse

from core.errors import ApplicationError
from core.money import supported_currencies, validate_currency
from reporting import services
from reporting.models import LedgerDay, TransactionSearch
from reporting.periods import PERIODS, period_parse
from reporting.selectors import history as history_selectors
from reporting.selectors import revenue


class _Echo:
    def write(self, value):
        return value


class _ReadOnlyPage(admin.ModelAdmin):
    permission = ""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff and request.user.has_perm(self.permission)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self.page(request)

    def page(self, request: HttpRequest) -> HttpResponse:
        raise NotImplementedError

    def get_urls(self):
        from django.urls import path

        info = self.opts.app_label, self.opts.model_name
        return [path("", self.admin_site.admin_view(self.changelist_view), name=f"{info[0]}_{info[1]}_changelist")]


def dashboard_query(params) -> tuple:
    """(period, granularity, currency) of a dashboard request; refusals are ``ValidationError``s."""
    period = period_parse(params, default="30d")
    granularity = str(params.get("granularity") or (revenue.MONTH if period.key == "12m" else revenue.DAY))
    if granularity not in revenue.GRANULARITIES:
        from core.errors import ValidationError

        raise ValidationError("Show the figures per day or per month.", code="granularity_invalid")
    currency = str(params.get("currency") or "")
    if currency:
        currency = validate_currency(currency)
    return period, granularity, currency


@admin.register(LedgerDay)
class RevenueDashboardAdmin(_ReadOnlyPage):
    permission = "reporting.view_revenue_dashboard"

    def page(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and "refresh" in request.POST:
            until = services.ledger_rollup_refresh()
            messages.success(request, f"The roll-up now holds every posting made before {until:%d %b %Y, %H:%M:%S %Z}.")
            return HttpResponseRedirect(request.get_full_path())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Revenue dashboard",
            "periods": PERIODS,
            "currencies": supported_currencies(),
            "figures": revenue.FIGURES,
            "params": request.GET,
        }
        try:
            period, granularity, currency = dashboard_query(request.GET)
        except ApplicationError as error:
            context["error"] = error
            return TemplateResponse(request, "reporting/admin/revenue_dashboard.html", context, status=400)
        dashboard = revenue.platform_dashboard(period=period, granularity=granularity, currency=currency)
        if request.GET.get("format") == "csv":
            writer = csv.writer(_Echo())
            response = StreamingHttpResponse(
                (writer.writerow(line) for line in revenue.dashboard_csv_lines(dashboard)), content_type="text/csv"
            )
            response["Content-Disposition"] = (
                f'attachment; filename="holdfast-revenue-{period.date_from}-{period.date_to}-{granularity}.csv"'
            )
            return response
        series = {}
        for cur in dashboard.currencies:
            rows = [r for r in dashboard.rows if r.currency == cur]
            series[cur] = {"periods": [r.period for r in rows]}
            for name, _label in revenue.CHART_FIGURES:
                series[cur][name] = [str(getattr(r, name)) for r in rows]
        query = request.GET.copy()
        query["format"] = "csv"
        context.update(
            {
                "dashboard": dashboard,
                "granularity": granularity,
                "currency": currency,
                "period": period,
                "csv_query": query.urlencode(),
                "chart_figures": revenue.CHART_FIGURES,
                "revenue_charts": {"figures": revenue.CHART_FIGURES, "series": series},
                "totals": [dashboard.totals[c] for c in dashboard.currencies if c in dashboard.totals],
            }
        )
        return TemplateResponse(request, "reporting/admin/revenue_dashboard.html", context)


@admin.register(TransactionSearch)
class TransactionSearchAdmin(_ReadOnlyPage):
    permission = "reporting.search_transactions"

    def page(self, request: HttpRequest) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Transaction search",
            "params": request.GET,
            "kinds": [(s.kind, s.label) for s in history_selectors.history_sources()],
            "statuses": history_selectors.history_statuses(),
            "currencies": supported_currencies(),
        }
        searched = any(
            request.GET.get(k) for k in ("amount", "reference", "email", "task", "date_from", "date_to", "q")
        )
        if not searched:
            return TemplateResponse(request, "reporting/admin/transaction_search.html", context)
        try:
            filters = history_selectors.history_filters_parse(request.GET, staff=True)
        except ApplicationError as error:
            context["error"] = error
            return TemplateResponse(request, "reporting/admin/transaction_search.html", context, status=400)
        rows = history_selectors.history_queryset(user=None, filters=filters)
        if request.GET.get("format") == "csv":
            writer = csv.writer(_Echo())
            response = StreamingHttpResponse(
                (writer.writerow(line) for line in history_selectors.history_csv_lines(rows)), content_type="text/csv"
            )
            response["Content-Disposition"] = 'attachment; filename="holdfast-transactions.csv"'
            return response
        page = Paginator(rows, 50).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        csv_query = query.copy()
        csv_query["format"] = "csv"
        context.update(
            {
                "page": page,
                "rows": history_selectors.history_rows(list(page.object_list)),
                "query": query.urlencode(),
                "csv_query": csv_query.urlencode(),
                "searched": True,
            }
        )
        return TemplateResponse(request, "reporting/admin/transaction_search.html", context)
