"""Notification pages: the list (mark one or all read) and the preferences. Thin: services do the writes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from notifications import selectors, services
from notifications.models import Channel


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    queryset = selectors.notifications_for(user=request.user, unread_only=unread_only)
    page = Paginator(queryset, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {
            "page": page,
            "unread_only": unread_only,
            "unread": selectors.notifications_unread_count(user_id=request.user.pk),
            "querystring": "show=unread" if unread_only else "",
        },
    )


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one read, then go where it points (``open``) or back to the list."""
    try:
        notification = services.notification_mark_read(user=request.user, notification_id=pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("notifications:list")
    if (
        request.POST.get("open")
        and notification.link
        and url_has_allowed_host_and_scheme(notification.link, allowed_hosts={request.get_host()})
    ):
        return redirect(notification.link)
    return redirect(_back(request))


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    changed = services.notifications_mark_all_read(user=request.user)
    messages.success(request, f"{changed} notification{'s' if changed != 1 else ''} marked read.")
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "notifications:list"


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """Each kind on or off, in the app and by email."""
    if request.method == "POST":
        table = selectors.preferences_table(user=request.user)
        choices = [
            (row["kind"].key, cell["channel"], f"{row['kind'].key}:{cell['channel']}" in request.POST)
            for row in table
            for cell in row["channels"]
        ]
        services.preferences_set(user=request.user, choices=choices)
        messages.success(request, "Your notification choices are saved.")
        return redirect("notifications:preferences")
    return render(
        request,
        "notifications/preferences.html",
        {"table": selectors.preferences_table(user=request.user), "channels": Channel.choices},
    )
