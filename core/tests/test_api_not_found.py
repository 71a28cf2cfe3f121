"""Any /api/ address that matches no route answers the API's JSON error shape, in every mode."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    "path", ["/api/v1/tasks/-1/", "/api/v1/tasks/abc/", "/api/v1/escrows/1.5/", "/api/v1/nothing/", "/api/v2/"]
)
def test_unrouted_api_paths_are_a_json_404(settings, debug, path):
    settings.DEBUG = debug
    response = Client().get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "details": {}}}


@pytest.mark.parametrize("method", ["post", "patch", "delete"])
def test_unrouted_api_paths_are_a_json_404_for_writes_too(method):
    response = getattr(Client(enforce_csrf_checks=True), method)("/api/v1/offers/false/accept/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_pages_keep_their_html_404(settings):
    settings.DEBUG = False
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
