"""Tests: the same real PostgreSQL and Redis as development, faster hashing, mail kept in memory."""

import os

os.environ.setdefault("HOLDFAST_EMBEDDED_SERVICES", "true")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret-but-long-enough-for-hs256")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault(
    "HOLDFAST_DATA_DIR", str(__import__("pathlib").Path(__file__).resolve().parents[2] / ".data" / "test")
)

from .base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES["default"]["KEY_PREFIX"] = "holdfast-test"  # noqa: F405
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"anon": "1000/min", "user": "1000/min", "auth": "5/min"}  # noqa: F405
WHITENOISE_AUTOREFRESH = True
# Tasks run in the calling thread; tests about Celery itself start a real worker of their own.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
LOGGING["loggers"] = {**LOGGING["loggers"], "stripe": {"level": "WARNING"}}  # noqa: F405  (one line per API call otherwise)
STRIPE_MAX_WRITES_PER_SECOND = 0  # paced only where a test is about pacing (payouts/tests, bench/payout_bench.py)
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ.get("HOLDFAST_LIVE_PREFIX", "holdfast-test-live")  # noqa: F405
