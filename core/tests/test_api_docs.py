"""The API docs work offline: every file they load is ours, and the schema shows in a browser."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db

_URL_ATTRIBUTE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_only_local_static_files(page):
    response = Client().get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"https?://", html), "the page names another host"
    assert "fonts.googleapis" not in html and "cdn.jsdelivr" not in html
    static_urls = [url for url in _URL_ATTRIBUTE.findall(html) if url.startswith("/static/")]
    assert static_urls, "the page loads its scripts from our static files"
    for url in static_urls:
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a static file we serve"
    scripts = re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html)
    assert scripts and all(src.startswith("/static/") for src in scripts)


def test_schema_is_viewable_in_the_browser_as_json():
    response = Client().get("/api/schema/?format=json", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" not in response.get("Content-Disposition", "")
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.") and "/api/v1/tasks/" in schema["paths"]


def test_schema_still_answers_the_openapi_media_types():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert Client().get("/api/schema/")["Content-Type"].startswith("application/vnd.oai.openapi")
