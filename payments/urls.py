from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("escrows/<int:pk>/", views.escrow_detail, name="escrow_detail"),
    path("escrows/<int:pk>/checkout/", views.checkout, name="checkout"),
    path("escrows/<int:pk>/confirm/", views.checkout_confirm, name="checkout_confirm"),
]
