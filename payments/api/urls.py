from django.urls import path

from payments.api import views

urlpatterns = [
    path("escrows/", views.EscrowListApi.as_view(), name="payments-api-escrow-list"),
    path("escrows/<int:pk>/", views.EscrowDetailApi.as_view(), name="payments-api-escrow-detail"),
    path("escrows/<int:pk>/checkout/", views.EscrowCheckoutApi.as_view(), name="payments-api-escrow-checkout"),
    path("escrows/<int:pk>/confirm/", views.EscrowConfirmApi.as_view(), name="payments-api-escrow-confirm"),
    path("escrows/<int:pk>/approve/", views.EscrowApproveApi.as_view(), name="payments-api-escrow-approve"),
]
