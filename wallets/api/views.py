from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import PaginatedListMixin
from wallets import selectors
from wallets.api.serializers import (
    StatementFilterInputSerializer,
    StatementRowOutputSerializer,
    WalletBalanceOutputSerializer,
)


class WalletBalancesApi(APIView):
    """The logged-in user's balances per currency. There is no way to name another user's wallet."""

    @extend_schema(
        responses=inline_serializer("WalletBalances", {"results": WalletBalanceOutputSerializer(many=True)}),
        summary="My wallet balances",
    )
    def get(self, request):
        balances = selectors.wallet_balances(user=request.user)
        return Response({"results": WalletBalanceOutputSerializer(balances, many=True).data})


class WalletTransactionsApi(PaginatedListMixin, APIView):
    @extend_schema(
        parameters=[StatementFilterInputSerializer],
        responses=StatementRowOutputSerializer(many=True),
        summary="My wallet statement, newest first, with the balance after each transaction",
    )
    def get(self, request):
        filters = StatementFilterInputSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        account = selectors.wallet_account_find(
            user=request.user, currency=data.get("currency") or settings.DEFAULT_CURRENCY
        )
        postings = selectors.account_statement(
            account=account,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            kind=data.get("kind") or None,
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(postings, request, view=self)
        rows = selectors.statement_rows(account=account, postings=page) if account else []
        return paginator.get_paginated_response(StatementRowOutputSerializer(rows, many=True).data)
