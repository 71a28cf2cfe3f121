"""API plumbing shared by every app: one error shape (and its schema), pagination."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.errors import ApplicationError

logger = logging.getLogger(__name__)

_CODES = {
    exceptions.NotAuthenticated: ("not_authenticated", "Log in to do that: send a valid access token."),
    exceptions.AuthenticationFailed: ("authentication_failed", "The credentials or token are not valid."),
    exceptions.PermissionDenied: ("permission_denied", "You are not allowed to do that."),
    exceptions.NotFound: ("not_found", "Not found."),
    exceptions.MethodNotAllowed: ("method_not_allowed", None),
    exceptions.NotAcceptable: ("not_acceptable", None),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", None),
    exceptions.ParseError: ("malformed_request", "The request body could not be read as JSON or form data."),
    exceptions.Throttled: ("throttled", None),
}


def error_response(*, code: str, message: str, details: dict[str, Any] | None = None, status_code: int) -> Response:
    return Response({"error": {"code": code, "message": message, "details": details or {}}}, status=status_code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every refusal as ``{"error": {"code", "message", "details"}}``."""
    if isinstance(exc, ApplicationError):
        set_rollback()
        return error_response(code=exc.code, message=exc.message, details=exc.details, status_code=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(details)

    if not isinstance(exc, exceptions.APIException):
        return None  # a bug, not bad input: let Django log it as a 500

    set_rollback()
    headers = {}
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        first = _first_message(detail)
        response = error_response(
            code="validation_error",
            message=first or "Some of the information given is not valid.",
            details={"fields": detail},
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    else:
        code, message = _CODES.get(type(exc), (None, None))
        for klass, (c, m) in _CODES.items():
            if code is None and isinstance(exc, klass):
                code, message = c, m
        details: dict[str, Any] = {}
        if isinstance(exc, exceptions.Throttled):
            details = {"retry_after_seconds": int(exc.wait or 0)}
        response = error_response(
            code=code or exc.default_code,
            message=message or str(exc.detail),
            details=details,
            status_code=exc.status_code,
        )
    for k, v in headers.items():
        response[k] = v
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        response.status_code = status.HTTP_401_UNAUTHORIZED
    return response


def _first_message(detail: Any) -> str | None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            msg = _first_message(value)
            if msg:
                return msg if key == "non_field_errors" else f"{key}: {msg}"
    elif isinstance(detail, list):
        for item in detail:
            msg = _first_message(item)
            if msg:
                return msg
    elif detail:
        return str(detail)
    return None


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


class PaginatedListMixin:
    """For a list endpoint: the schema shows the real ``{count, next, previous, results}`` page."""

    pagination_class = Pagination

    def paginated_response(self, request: Request, queryset, serializer_class, **serializer_kwargs) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True, **serializer_kwargs).data)


# --- the schema's error responses ---------------------------------------------------------------


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. validation_error, task_not_open.")
    message = serializers.CharField(help_text="A sentence for people.")
    details = serializers.DictField(help_text="More about the error, e.g. the fields that were refused.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()
