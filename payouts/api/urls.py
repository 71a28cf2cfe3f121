from django.urls import path

from payouts.api import views

urlpatterns = [
    path("payout-account/", views.PayoutAccountApi.as_view(), name="payouts-api-account"),
    path("payout-account/dashboard-link/", views.PayoutDashboardLinkApi.as_view(), name="payouts-api-dashboard"),
    path("payout-account/schedule/", views.PayoutScheduleApi.as_view(), name="payouts-api-schedule"),
    path("payouts/", views.PayoutListApi.as_view(), name="payouts-api-list"),
    path("payouts/options/", views.PayoutOptionsApi.as_view(), name="payouts-api-options"),
    path("payouts/<int:pk>/", views.PayoutDetailApi.as_view(), name="payouts-api-detail"),
    path("payouts/<int:pk>/cancel/", views.PayoutCancelApi.as_view(), name="payouts-api-cancel"),
    path("payouts/<int:pk>/retry/", views.PayoutRetryApi.as_view(), name="payouts-api-retry"),
]
