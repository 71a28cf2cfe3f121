import pytest

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _error(response):
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_register_then_obtain_token_then_me(api_client):
    response = api_client.post(
        "/api/v1/auth/register/",
        {"email": "m@example.com", "password": "a-long-passphrase", "is_tasker": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["is_tasker"] is True
    tokens = api_client.post("/api/v1/auth/token/", {"email": "m@example.com", "password": "a-long-passphrase"}).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api_client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "m@example.com"
    refreshed = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200 and refreshed.json()["access"]


def test_register_bad_input_is_400_with_error_shape(api_client):
    response = api_client.post("/api/v1/auth/register/", {"email": "not-an-email", "password": "x"}, format="json")
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "validation_error"
    assert "email" in error["details"]["fields"]
    assert not User.objects.exists()


def test_register_duplicate_email_has_stable_code(api_client):
    UserFactory(email="dup@example.com")
    response = api_client.post("/api/v1/auth/register/", {"email": "DUP@example.com", "password": "a-long-passphrase"})
    assert response.status_code == 400
    assert _error(response)["code"] == "email_taken"


def test_me_requires_authentication(api_client):
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert _error(response)["code"] == "not_authenticated"


def test_bad_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert _error(response)["code"] == "authentication_failed"


def test_wrong_password_is_401_and_token_endpoint_is_throttled(api_client):
    user = UserFactory()
    codes = [
        api_client.post("/api/v1/auth/token/", {"email": user.email, "password": "nope"}).status_code for _ in range(6)
    ]
    assert codes[0] == 401
    assert codes[-1] == 429
    response = api_client.post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert _error(response)["code"] == "throttled"


def test_me_patch_updates_profile(api_client):
    user = UserFactory()
    api_client.force_authenticate(user)
    response = api_client.patch(
        "/api/v1/me/", {"headline": "Fast movers", "skills": ["moving"], "is_tasker": True}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["headline"] == "Fast movers"
    assert response.json()["skills"] == ["moving"]


def test_unknown_api_url_is_json_404(api_client):
    response = api_client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_schema_and_docs_are_served(api_client):
    assert api_client.get("/api/schema/").status_code == 200
    assert api_client.get("/api/docs/").status_code == 200
