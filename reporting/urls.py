from django.urls import path

from reporting import views

app_name = "reporting"
urlpatterns = [
    path("history/", views.history, name="history"),
    path("history.csv", views.history_csv, name="history_csv"),
    path("statistics/", views.statistics, name="statistics"),
    path("receipts/payments/<int:escrow_id>.pdf", views.payment_receipt, name="payment_receipt"),
    path("receipts/refunds/<int:refund_id>.pdf", views.refund_receipt, name="refund_receipt"),
    path("receipts/top-ups/<int:top_up_id>.pdf", views.top_up_receipt, name="top_up_receipt"),
    path("statements/<str:month>/<str:currency>.pdf", views.earnings_statement, name="earnings_statement"),
]
