from django.urls import path

from wallets.api import views

urlpatterns = [
    path("wallet/", views.WalletBalancesApi.as_view(), name="api-wallet"),
    path("wallet/transactions/", views.WalletTransactionsApi.as_view(), name="api-wallet-transactions"),
]
