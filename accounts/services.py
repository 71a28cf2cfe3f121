"""Writes for accounts: sign-up, profile changes, log-in throttling."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from accounts.models import Profile, User
from core.errors import ApplicationError, ValidationError
from core.validation import model_full_clean


class TooManyLoginAttempts(ApplicationError):
    status_code = 429
    default_code = "too_many_login_attempts"
    default_message = "Too many failed log-in attempts. Wait 15 minutes, or reset your password."


@transaction.atomic
def user_register(
    *, email: str, password: str, name: str = "", is_client: bool = True, is_tasker: bool = False
) -> User:
    """Create a user and their profile. The email is unique, case-insensitively."""
    email = (email or "").strip().lower()
    if not (is_client or is_tasker):
        raise ValidationError("Choose at least one way to use Holdfast: client, tasker, or both.", code="role_required")
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(
            "An account with this email already exists.", code="email_taken", details={"field": "email"}
        )
    user = User(email=email, name=name.strip())
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(exc.messages), code="password_too_weak", details={"field": "password"})
    user.set_password(password)
    model_full_clean(user, code="invalid_user", exclude=["password"])
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a concurrent sign-up with the same address won the race
        raise ValidationError(
            "An account with this email already exists.", code="email_taken", details={"field": "email"}
        )
    Profile.objects.create(user=user, is_client=is_client, is_tasker=is_tasker)
    return user


def profile_get_or_create(*, user: User) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def profile_update(*, user: User, **fields: object) -> Profile:
    """Update the caller's own profile. Unknown fields are refused, roles cannot both be off."""
    allowed = {"display_name", "headline", "bio", "skills", "is_client", "is_tasker", "name"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.", code="unknown_fields")
    profile = Profile.objects.select_for_update().get(pk=profile_get_or_create(user=user).pk)
    if "name" in fields:
        user.name = str(fields.pop("name")).strip()[:150]
        user.save(update_fields=["name"])
    if "skills" in fields:
        fields["skills"] = _clean_skills(fields["skills"])
    for key, value in fields.items():
        setattr(profile, key, value)
    if not (profile.is_client or profile.is_tasker):
        raise ValidationError("Choose at least one way to use Holdfast: client, tasker, or both.", code="role_required")
    model_full_clean(profile, code="invalid_profile")
    profile.save()
    return profile


def _clean_skills(value: object) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    skills: list[str] = []
    for item in items:
        skill = str(item).strip()[:40]
        if skill and skill.lower() not in {s.lower() for s in skills}:
            skills.append(skill)
    if len(skills) > 20:
        raise ValidationError("List at most 20 skills.", code="too_many_skills", details={"field": "skills"})
    return skills


# --- Log-in throttling -------------------------------------------------------------------
# Failed attempts are counted per email and per client IP in the cache (Redis), so a
# guessing run is slowed down whichever of the two it varies.


def _throttle_keys(*, email: str, ip: str | None) -> list[str]:
    digest = hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]
    keys = [f"login-fail:email:{digest}"]
    if ip:
        keys.append(f"login-fail:ip:{ip}")
    return keys


def login_throttle_check(*, email: str, ip: str | None) -> None:
    limit = settings.LOGIN_FAILURE_LIMIT
    for key in _throttle_keys(email=email, ip=ip):
        if (cache.get(key) or 0) >= limit * (4 if ":ip:" in key else 1):
            raise TooManyLoginAttempts()


def login_failure_record(*, email: str, ip: str | None) -> None:
    window = int(settings.LOGIN_FAILURE_WINDOW.total_seconds())
    for key in _throttle_keys(email=email, ip=ip):
        cache.add(key, 0, timeout=window)
        cache.incr(key)


def login_success_record(*, email: str, ip: str | None) -> None:
    cache.delete(_throttle_keys(email=email, ip=None)[0])
