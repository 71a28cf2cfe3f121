"""Site-wide odds and ends: the favicon, how refused requests are logged."""

import logging

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import SUPPORT, staff_groups_sync
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_favicon_ico_answers_with_an_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age=86400" in response["Cache-Control"]


@pytest.mark.parametrize("page", ["marketplace:task_list", "accounts:login", "admin:login"])
def test_pages_link_their_icon(client, page):
    html = client.get(reverse(page)).content.decode()
    assert '<link rel="icon" href="/static/favicon.ico" sizes="32x32">' in html
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html


def test_a_refused_request_is_logged_as_one_warning_line_without_traceback(client, caplog):
    staff_groups_sync()
    support = UserFactory(is_staff=True)
    support.groups.add(Group.objects.get(name=SUPPORT))
    client.force_login(support)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("admin:payments_feepolicy_add"))
    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    line = logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert "Forbidden" in line and "/admin/payments/feepolicy/add/" in line
    assert "\n" not in line and "Traceback" not in line


def test_server_errors_keep_their_traceback(caplog):
    # Only refusals lose the traceback: a 500 is ours to debug.
    logger = logging.getLogger("django.request")
    with caplog.at_level(logging.ERROR, logger="django.request"):
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            logger.error("Internal Server Error: /x/", extra={"status_code": 500}, exc_info=exc)
    [record] = caplog.records
    assert record.exc_info is not None
