"""API plumbing shared by every app: one error shape, pagination, input fields, the schema's refusals."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.http import Http404
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core import database
from core.errors import ApplicationError
from core.money import AMOUNT_PATTERN, supported_currencies, validate_currency

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

    if database.database_unavailable(exc):
        logger.warning("Database unavailable for %s: %s", context["request"].path, exc)
        return database.unavailable_response(context["request"])
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
    """``?page=`` and ``?page_size=`` (1 or more; above 100 gives 100).

    As the schema says: a page size that is not a whole number from 1 is refused rather than
    silently replaced by the default, and a page that is not a whole number is not found
    (blank was the first page).
    """

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]+", raw) or int(raw) < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"Enter a whole number from 1 to {self.max_page_size}."]}
            )
        return min(int(raw), self.max_page_size)

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and not re.fullmatch(r"[0-9]+", raw):
            raise exceptions.NotFound("Invalid page.")  # as DRF answers a page past the last
        return super().get_page_number(request, paginator)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters


class PaginatedListMixin:
    """For a list endpoint: the schema shows the real ``{count, next, previous, results}`` page."""

    pagination_class = Pagination

    def paginated_response(self, request: Request, queryset, serializer_class, **serializer_kwargs) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True, **serializer_kwargs).data)


# --- input fields whose schema says exactly what the server accepts -----------------------------

# Text is taken as sent (not trimmed) so that its length is the length the schema states; the
# services trim it. NUL cannot be stored in PostgreSQL text; required text needs a visible character.
TEXT_PATTERN = r"^[^\x00]*$"
REQUIRED_TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


class RequiredTextField(serializers.CharField):
    """Text that must have a visible character (``REQUIRED_TEXT_PATTERN``, stated in the schema).

    A blank one reaches the service, which refuses it with its own code (``title_required``,
    ``reason_required``).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if data == "":
            return ""
        return super().run_validation(data)


def required_text(*, max_length: int, **kwargs: Any) -> serializers.CharField:
    return RequiredTextField(max_length=max_length, **kwargs)


def optional_text(*, max_length: int, **kwargs: Any) -> serializers.CharField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("default", "")
    return serializers.CharField(
        max_length=max_length,
        allow_blank=True,
        trim_whitespace=False,
        validators=[RegexValidator(TEXT_PATTERN, message="Null characters are not allowed.", code="null_characters")],
        **kwargs,
    )


class CurrencyField(serializers.ChoiceField):
    """One of ``settings.HOLDFAST_CURRENCIES`` (documented as an enum; lower case is accepted too).

    Anything else is refused with the services' own ``currency_not_supported``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=supported_currencies(), **kwargs)

    def to_internal_value(self, data: object) -> str:
        if data == "" and self.allow_blank:
            return ""
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return validate_currency(data, field=self.field_name or "currency")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": AMOUNT_PATTERN, "example": "120.00"},
            {"type": "number"},
        ],
        "description": "An amount in major units: ASCII digits with at most one dot and no separators, "
        'as a string ("1200.50") or a JSON number.',
    }
)
class AmountField(serializers.Field):
    """A string in ``core.money.AMOUNT_PATTERN`` or a JSON number; ``parse_amount`` in the services
    checks the format, sign, precision and size."""

    default_error_messages = {"invalid": 'Send the amount as a string like "120.00" or as a number.'}

    def to_internal_value(self, data: object) -> object:
        if isinstance(data, bool) or not isinstance(data, str | int | float | Decimal):
            self.fail("invalid")
        return data

    def to_representation(self, value: object) -> str:
        return str(value)


# --- the schema's error responses ---------------------------------------------------------------


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. validation_error, task_not_open.")
    message = serializers.CharField(help_text="A sentence for people.")
    details = serializers.DictField(help_text="More about the error, e.g. the fields that were refused.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()
