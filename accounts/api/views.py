from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import services
from accounts.api.serializers import MeOutputSerializer, ProfileUpdateInputSerializer, RegisterInputSerializer
from core.http import client_ip
from core.throttling import ScopedRateThrottle


class AuthThrottleMixin:
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class RegisterApi(AuthThrottleMixin, APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=RegisterInputSerializer, responses={201: MeOutputSerializer}, summary="Create an account")
    def post(self, request):
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(MeOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenObtainApi(AuthThrottleMixin, TokenObtainPairView):
    """Exchange email and password for an access and a refresh token.

    The same per-email lockout and per-IP limit as the log-in page: failures here count
    towards them, and while an email is paused even the right password is refused (429
    ``too_many_login_attempts``).
    """

    def post(self, request, *args, **kwargs):
        email = request.data.get("email")
        email = email if isinstance(email, str) else ""
        ip = client_ip(request)
        services.login_throttle_check(email=email, ip=ip)
        try:
            response = super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            services.login_failure_record(email=email, ip=ip)
            raise
        services.login_success_record(email=email, ip=ip)
        return response


class TokenRefreshApi(AuthThrottleMixin, TokenRefreshView):
    """Exchange a refresh token for a new access token."""


class MeApi(APIView):
    @extend_schema(responses=MeOutputSerializer, summary="The logged-in user and their profile")
    def get(self, request):
        services.profile_get_or_create(user=request.user)
        return Response(MeOutputSerializer(request.user).data)

    @extend_schema(request=ProfileUpdateInputSerializer, responses=MeOutputSerializer, summary="Update my profile")
    def patch(self, request):
        data = ProfileUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.profile_update(user=request.user, **data.validated_data)
        request.user.refresh_from_db()
        return Response(MeOutputSerializer(request.user).data)
