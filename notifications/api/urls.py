from django.urls import path

from notifications.api import views

urlpatterns = [
    path("notifications/", views.NotificationListApi.as_view(), name="api-notifications"),
    path("notifications/unread/", views.NotificationUnreadCountApi.as_view(), name="api-notifications-unread"),
    path("notifications/read-all/", views.NotificationReadAllApi.as_view(), name="api-notifications-read-all"),
    path("notifications/<int:pk>/read/", views.NotificationReadApi.as_view(), name="api-notification-read"),
]
