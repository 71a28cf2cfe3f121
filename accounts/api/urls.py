from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/register/", views.RegisterApi.as_view(), name="api-register"),
    path("auth/token/", views.TokenObtainApi.as_view(), name="api-token"),
    path("auth/token/refresh/", views.TokenRefreshApi.as_view(), name="api-token-refresh"),
    path("me/", views.MeApi.as_view(), name="api-me"),
]
