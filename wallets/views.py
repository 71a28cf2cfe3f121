"""Wallet pages: balances per currency and the statement (paginated, filterable, CSV)."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from wallets import selectors
from wallets.forms import StatementFilterForm

STATEMENT_PAGE_SIZE = 25
PAYMENTS_SHOWN = 10


class _Echo:
    def write(self, value):
        return value


def _statement_filters(request):
    form = StatementFilterForm(request.GET or None)
    filters = {"currency": settings.DEFAULT_CURRENCY, "kind": None, "date_from": None, "date_to": None}
    if form.is_bound and form.is_valid():
        filters.update({k: v for k, v in form.cleaned_data.items() if v})
    return form, filters


@login_required
@require_GET
def wallet(request):
    form, filters = _statement_filters(request)
    account = selectors.wallet_account_find(user=request.user, currency=filters["currency"])
    postings = selectors.account_statement(
        account=account, date_from=filters["date_from"], date_to=filters["date_to"], kind=filters["kind"]
    )
    page = Paginator(postings, STATEMENT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.statement_rows(account=account, postings=page.object_list) if account else []
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "wallets/wallet.html",
        {
            "balances": selectors.wallet_balances(user=request.user),
            "payments": selectors.wallet_payments(user=request.user, limit=PAYMENTS_SHOWN),
            "form": form,
            "currency": filters["currency"],
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
        },
    )


@login_required
@require_GET
def statement_csv(request):
    """The whole filtered statement as CSV, streamed so a long history does not sit in memory."""
    _, filters = _statement_filters(request)
    account = selectors.wallet_account_find(user=request.user, currency=filters["currency"])
    postings = selectors.account_statement(
        account=account, date_from=filters["date_from"], date_to=filters["date_to"], kind=filters["kind"]
    )

    def lines():
        writer = csv.writer(_Echo())
        yield writer.writerow(["date", "entry", "kind", "reference", "memo", "currency", "amount", "balance_after"])
        for posting in postings.iterator(chunk_size=1000):
            entry = posting.entry
            yield writer.writerow(
                [
                    posting.created_at.isoformat(),
                    entry.pk,
                    entry.kind,
                    entry.reference,
                    entry.memo,
                    posting.currency,
                    posting.amount,
                    posting.balance_after,
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="holdfast-wallet-{filters["currency"].lower()}.csv"'
    return response
