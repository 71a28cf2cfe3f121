"""Development: `make run`. Safe defaults so a fresh clone starts with no configuration."""

import os

os.environ.setdefault("HOLDFAST_EMBEDDED_SERVICES", "true")
os.environ.setdefault("DJANGO_SECRET_KEY", "local-development-only-not-secret-but-long-enough")
os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

from .base import *  # noqa: E402,F403

WHITENOISE_AUTOREFRESH = True  # serve static files straight from static/ while developing
