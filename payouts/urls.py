from django.urls import path

from payouts import views

app_name = "payouts"
urlpatterns = [
    path("", views.get_paid, name="get_paid"),
    path("onboarding/start/", views.onboarding_start, name="onboarding_start"),
    path("onboarding/refresh/", views.onboarding_refresh, name="onboarding_refresh"),
    path("onboarding/return/", views.onboarding_return, name="onboarding_return"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("request/", views.request_payout, name="request"),
    path("schedule/", views.schedule, name="schedule"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/retry/", views.retry, name="retry"),
]
