"""Notifications API for the mobile apps: my notifications, mark one or all read. Thin views over
the services and selectors; another user's notification is a 404."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import PaginatedListMixin
from notifications import selectors, services
from notifications.api.serializers import NotificationOutputSerializer

ERROR = OpenApiResponse(description='Error: {"error": {"code", "message", "details"}}')


class NotificationListApi(PaginatedListMixin, APIView):
    class FilterInput(serializers.Serializer):
        unread = serializers.BooleanField(required=False, default=False, help_text="Only those not read yet.")

    @extend_schema(
        parameters=[FilterInput],
        responses={200: NotificationOutputSerializer(many=True), 400: ERROR, 401: ERROR},
        summary="My notifications, newest first",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.notifications_for(user=request.user, unread_only=filters.validated_data["unread"])
        return self.paginated_response(request, queryset, NotificationOutputSerializer)


UNREAD = inline_serializer("NotificationsUnread", {"unread": serializers.IntegerField()})


class NotificationUnreadCountApi(APIView):
    @extend_schema(responses={200: UNREAD, 401: ERROR}, summary="How many of my notifications are unread")
    def get(self, request: Request) -> Response:
        return Response({"unread": selectors.notifications_unread_count(user_id=request.user.pk)})


class NotificationReadApi(APIView):
    @extend_schema(
        request=None,
        responses={200: NotificationOutputSerializer, 401: ERROR, 404: ERROR},
        summary="Mark one of my notifications read (again: unchanged)",
    )
    def post(self, request: Request, pk: int) -> Response:
        notification = services.notification_mark_read(user=request.user, notification_id=pk)
        return Response(NotificationOutputSerializer(notification).data)


class NotificationReadAllApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "NotificationsReadAll",
                {"marked_read": serializers.IntegerField(), "unread": serializers.IntegerField()},
            ),
            401: ERROR,
        },
        summary="Mark all my notifications read",
    )
    def post(self, request: Request) -> Response:
        changed = services.notifications_mark_all_read(user=request.user)
        return Response(
            {"marked_read": changed, "unread": selectors.notifications_unread_count(user_id=request.user.pk)}
        )
