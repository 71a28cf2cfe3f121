"""Log-in limits: per client IP (API throttle and page log-in) and per email (one lockout for pages and API)."""

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.throttling import ScopedRateThrottle

from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
LOCKED_MESSAGE = "Too many failed log-in attempts"


def _auth_rate_limit() -> int:
    requests, _ = ScopedRateThrottle().parse_rate(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"])
    return requests


def _page_ip_limit() -> int:
    return settings.LOGIN_FAILURE_LIMIT * 4


def _token_guess(api_client, *, email: str, forwarded_for: str, password: str = "wrong-guess", remote_addr=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for}
    if remote_addr:
        extra["REMOTE_ADDR"] = remote_addr
    return api_client.post(TOKEN_URL, {"email": email, "password": password}, **extra)


def _page_login(client, *, email: str, password: str, forwarded_for: str):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, HTTP_X_FORWARDED_FOR=forwarded_for
    )


# --- Client IP: X-Forwarded-For is trusted only from configured proxies -------------------------------


def test_token_throttle_is_not_bypassed_by_a_new_forwarded_for_on_each_guess(api_client):
    limit = _auth_rate_limit()
    # Different emails too, so only the per-IP throttle can stop the run (not the per-email lockout).
    responses = [
        _token_guess(api_client, email=f"guess{i}@example.com", forwarded_for=f"198.51.100.{i}") for i in range(20)
    ]
    codes = [r.status_code for r in responses]
    assert codes[:limit] == [401] * limit
    assert codes[limit:] == [429] * (20 - limit)
    assert responses[-1].json()["error"]["code"] == "throttled"


def test_with_one_proxy_the_address_it_appended_is_counted(api_client, settings):
    settings.NUM_PROXIES = 1
    limit = _auth_rate_limit()
    # The client writes what it likes on the left; our proxy appends the address it saw.
    codes = [
        _token_guess(api_client, email=f"guess{i}@example.com", forwarded_for=f"10.0.0.{i}, 203.0.113.7").status_code
        for i in range(20)
    ]
    assert codes[:limit] == [401] * limit
    assert codes[limit:] == [429] * (20 - limit)
    # Another client behind the same proxy has its own count.
    other = _token_guess(api_client, email="someone@example.com", forwarded_for="203.0.113.8")
    assert other.status_code == 401


def test_page_login_ip_limit_ignores_forwarded_for_by_default(client):
    user = UserFactory()
    for i in range(_page_ip_limit()):
        response = _page_login(client, email=f"guess{i}@example.com", password="wrong", forwarded_for=f"198.51.100.{i}")
        assert LOCKED_MESSAGE not in response.content.decode()
    response = _page_login(client, email=user.email, password=PASSWORD, forwarded_for="192.0.2.1")
    assert response.status_code == 200
    assert LOCKED_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_page_login_with_one_proxy_counts_the_address_it_appended(client, settings):
    settings.NUM_PROXIES = 1
    user = UserFactory()
    for i in range(_page_ip_limit()):
        _page_login(client, email=f"guess{i}@example.com", password="wrong", forwarded_for=f"10.0.0.{i}, 203.0.113.7")
    refused = _page_login(client, email=user.email, password=PASSWORD, forwarded_for="10.9.9.9, 203.0.113.7")
    assert LOCKED_MESSAGE in refused.content.decode()
    # Someone else behind the same proxy is not paused by that client's guesses.
    allowed = _page_login(client, email=user.email, password=PASSWORD, forwarded_for="203.0.113.8")
    assert allowed.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


# --- One per-email lockout for the page and the API ---------------------------------------------------


def test_after_failed_page_logins_the_api_refuses_even_the_right_password(client, api_client, settings):
    user = UserFactory()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        _page_login(client, email=user.email, password="wrong", forwarded_for="")
    response = api_client.post(TOKEN_URL, {"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "too_many_login_attempts"
    assert LOCKED_MESSAGE in body["error"]["message"]
    assert "access" not in body


def test_failed_api_logins_lock_the_page_and_the_api(client, api_client, settings):
    user = UserFactory()
    limit = settings.LOGIN_FAILURE_LIMIT
    assert limit <= _auth_rate_limit()  # so the per-IP API throttle does not stop the run first
    for _ in range(limit):
        assert _token_guess(api_client, email=user.email, forwarded_for="").status_code == 401
    page = _page_login(client, email=user.email, password=PASSWORD, forwarded_for="")
    assert LOCKED_MESSAGE in page.content.decode()
    assert "_auth_user_id" not in client.session
    # From another address (outside the per-IP throttle) the email is still locked.
    api = _token_guess(api_client, email=user.email, forwarded_for="", password=PASSWORD, remote_addr="192.0.2.50")
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "too_many_login_attempts"


def test_a_successful_api_login_clears_the_email_count(client, api_client, settings):
    user = UserFactory()
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _page_login(client, email=user.email, password="wrong", forwarded_for="")
    assert _token_guess(api_client, email=user.email, forwarded_for="", password=PASSWORD).status_code == 200
    _page_login(client, email=user.email, password="wrong", forwarded_for="")
    assert _page_login(client, email=user.email, password=PASSWORD, forwarded_for="").status_code == 302
