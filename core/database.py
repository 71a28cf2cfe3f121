"""The database out of reach: which errors mean it, and the answer a request gets then.

A PostgreSQL restart, failover or network cut is not a bug in a request: pages answer with a
503 page that says so in a sentence, the API with ``{"error": {"code": "service_unavailable"}}``
and 503, both with ``Retry-After``, instead of a 500. PostgreSQL has rolled back whatever
transaction the request had open, so nothing is half-written, and the same process answers
again once the server is back (``CONN_HEALTH_CHECKS`` replaces a dead persistent connection).
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

CODE = "service_unavailable"
MESSAGE = "Holdfast cannot reach its database for a moment. Please try again in a minute."
RETRY_AFTER_SECONDS = 30

# SQLSTATEs of a server that is going away or not there yet: connection exceptions (class 08),
# admin_shutdown (a fast stop or a restart), crash_shutdown, cannot_connect_now (starting up).
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` means the database cannot be reached (rather than a bad statement or a deadlock)."""
    if isinstance(exc, InterfaceError):
        return True  # a connection already closed under the request
    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    # No SQLSTATE: the driver could not connect or lost the connection (no server sent a code).
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 for ``request``: the API's error shape, or a page rendered without touching the
    database (no request context: no user, no messages, no notification count)."""
    if is_api(request):
        response: HttpResponse = JsonResponse(
            {"error": {"code": CODE, "message": MESSAGE, "details": {}}},
            status=503,
        )
    else:
        response = HttpResponse(render_to_string("503.html", {"message": MESSAGE}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a view's "database out of reach" error into the 503 (one warning line, no traceback).
    Errors outside views (another middleware's) reach ``core.views.server_error``, which answers
    the same."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        logger.warning("Database unavailable for %s %s: %s", request.method, request.path, exception)
        return unavailable_response(request)
