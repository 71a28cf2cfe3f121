"""Site-wide views: errors (the API answers in its JSON error shape, pages in HTML), the favicon."""

import sys
from functools import cache

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from core import database


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"error": {"code": "not_found", "message": "Not found.", "details": {}}}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    # Called while the uncaught exception is being handled: a database out of reach outside a view
    # (in a middleware, say) is a 503 as well, not a 500.
    if database.database_unavailable(sys.exc_info()[1]):
        return database.unavailable_response(request)
    if _is_api(request):
        return JsonResponse(
            {
                "error": {
                    "code": "server_error",
                    "message": "Something went wrong on our side. Please try again.",
                    "details": {},
                }
            },
            status=500,
        )
    return render(request, "500.html", status=500)


def bad_request(request, exception=None):
    if _is_api(request):
        return JsonResponse(
            {"error": {"code": "bad_request", "message": "The request was malformed.", "details": {}}}, status=400
        )
    return render(request, "400.html", status=400)


@cache
def _favicon() -> bytes:
    return (settings.BASE_DIR / "static" / "favicon.ico").read_bytes()


@require_safe
@cache_control(public=True, max_age=86400)
def favicon(request):
    """``/favicon.ico``, which browsers and crawlers ask for whatever the page links to."""
    return HttpResponse(_favicon(), content_type="image/x-icon")
