from django.urls import path

from reporting.api import views

urlpatterns = [
    path("reporting/history/", views.HistoryApi.as_view(), name="api-reporting-history"),
    path("reporting/statistics/", views.StatisticsApi.as_view(), name="api-reporting-statistics"),
    path(
        "reporting/payments/<int:escrow_id>/receipt/",
        views.PaymentReceiptApi.as_view(),
        name="api-reporting-payment-receipt",
    ),
    path(
        "reporting/refunds/<int:refund_id>/receipt/",
        views.RefundReceiptApi.as_view(),
        name="api-reporting-refund-receipt",
    ),
    path(
        "reporting/top-ups/<int:top_up_id>/receipt/",
        views.TopUpReceiptApi.as_view(),
        name="api-reporting-top-up-receipt",
    ),
    path(
        "reporting/statements/<str:month>/",
        views.EarningsStatementApi.as_view(),
        name="api-reporting-earnings-statement",
    ),
]
