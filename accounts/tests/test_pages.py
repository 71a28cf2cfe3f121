import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_signup_logs_in_and_creates_profile(client):
    response = client.post(
        reverse("accounts:signup"),
        {"email": "new@example.com", "password": "a-long-passphrase", "name": "New", "is_tasker": "on"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert user.profile.is_tasker and not user.profile.is_client
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_signup_shows_error_for_taken_email(client):
    UserFactory(email="taken@example.com")
    response = client.post(
        reverse("accounts:signup"), {"email": "taken@example.com", "password": "a-long-passphrase", "is_client": "on"}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_login_and_logout(client):
    user = UserFactory()
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("accounts:profile")).status_code == 200
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("accounts:profile")).status_code == 302


def test_login_is_throttled_after_repeated_failures(client, settings):
    user = UserFactory()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        response = client.post(reverse("accounts:login"), {"username": user.email, "password": "wrong"})
        assert response.status_code == 200
    # Even the right password is refused while the pause lasts.
    response = client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_requires_csrf_token():
    from django.test import Client

    user = UserFactory()
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 403


def test_password_reset_sends_link_that_sets_new_password(client):
    user = UserFactory(email="reset@example.com")
    client.post(reverse("accounts:password_reset"), {"email": "reset@example.com"})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link.split("testserver", 1)[1]
    response = client.get(path, follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-passphrase")


def test_profile_edit_saves_tasker_fields(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("accounts:profile"),
        {
            "name": "Pat",
            "display_name": "Pat the Painter",
            "headline": "Walls",
            "skills": "painting, plaster",
            "is_tasker": "on",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.name == "Pat"
    assert user.profile.display_name == "Pat the Painter"
    assert user.profile.skills == ["painting", "plaster"]
    assert user.profile.is_tasker and not user.profile.is_client
