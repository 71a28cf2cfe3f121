"""A database out of reach is a 503 with a sentence (page) or the API's error shape, never a 500."""

import json

import psycopg
from django.db import OperationalError
from django.test import RequestFactory

from core.database import DatabaseUnavailableMiddleware, database_unavailable


def _lost_connection() -> OperationalError:
    error = OperationalError("server closed the connection unexpectedly")
    error.__cause__ = psycopg.OperationalError("server closed the connection unexpectedly")
    return error


def test_a_lost_connection_is_a_503_page_and_an_api_error_not_a_500():
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    page = middleware.process_exception(RequestFactory().get("/"), _lost_connection())
    assert page.status_code == 503 and page["Retry-After"] == "30"
    assert "cannot reach its database" in page.content.decode()
    api = middleware.process_exception(RequestFactory().get("/api/v1/tasks/"), _lost_connection())
    body = json.loads(api.content)
    assert api.status_code == 503 and body["error"]["code"] == "service_unavailable" and body["error"]["message"]


def test_a_bad_statement_is_not_taken_for_an_outage():
    assert not database_unavailable(ValueError("no"))
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    assert not database_unavailable(error)
