import pytest
from django.contrib.auth.models import Group

from accounts import services
from accounts.models import User
from accounts.roles import FINANCE, SUPPORT
from core.errors import ValidationError

pytestmark = pytest.mark.django_db


def test_register_creates_user_and_profile_with_roles():
    user = services.user_register(email="Ann@Example.com", password="a-long-passphrase", name="Ann", is_tasker=True)
    assert user.email == "ann@example.com"
    assert user.check_password("a-long-passphrase")
    assert user.profile.is_client and user.profile.is_tasker


def test_register_refuses_duplicate_email_case_insensitively():
    services.user_register(email="bob@example.com", password="a-long-passphrase")
    with pytest.raises(ValidationError) as exc:
        services.user_register(email="BOB@example.com", password="a-long-passphrase")
    assert exc.value.code == "email_taken"
    assert User.objects.count() == 1


def test_register_refuses_weak_password_and_no_role():
    with pytest.raises(ValidationError) as exc:
        services.user_register(email="c@example.com", password="12345678")
    assert exc.value.code == "password_too_weak"
    with pytest.raises(ValidationError) as exc:
        services.user_register(email="c@example.com", password="a-long-passphrase", is_client=False, is_tasker=False)
    assert exc.value.code == "role_required"
    assert not User.objects.exists()


def test_profile_update_cleans_skills_and_keeps_a_role():
    user = services.user_register(email="d@example.com", password="a-long-passphrase")
    profile = services.profile_update(
        user=user, skills="Plumbing, painting ,plumbing,", is_tasker=True, headline="Fixes"
    )
    assert profile.skills == ["Plumbing", "painting"]
    with pytest.raises(ValidationError) as exc:
        services.profile_update(user=user, is_client=False, is_tasker=False)
    assert exc.value.code == "role_required"
    profile.refresh_from_db()
    assert profile.is_client and profile.is_tasker


def test_staff_groups_exist_with_permissions():
    support = Group.objects.get(name=SUPPORT)
    finance = Group.objects.get(name=FINANCE)
    assert support.permissions.filter(codename="view_user").exists()
    assert finance.permissions.filter(codename="view_task").exists() or finance.permissions.exists()
