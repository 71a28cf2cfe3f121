"""Settings shared by every environment. One ``environ.Env`` reads the environment."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ

from config import embedded

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
SITE_URL = env("HOLDFAST_SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files, not a CDN
    "djmoney",
    "core.stripe_mirror.StripeMirrorConfig",  # dj-stripe, shown as the read-only Stripe mirror
    "core",
    "accounts",
    "marketplace",
    "wallets",
    "processors",
    "payments",
    "payouts",
    "disputes",
    "notifications",
    "reporting",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.database.DatabaseUnavailableMiddleware",  # the database out of reach: a 503, not a 500
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# --- Services: real PostgreSQL and Redis, embedded when no URL is given --------------
# Embedded servers are a development convenience: local and test settings switch them on;
# production never falls back to them.
EMBEDDED_SERVICES = env.bool("HOLDFAST_EMBEDDED_SERVICES", default=False)
DATABASE_URL = env("DATABASE_URL", default="") or (
    embedded.postgres_url() if EMBEDDED_SERVICES else env("DATABASE_URL")
)
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
# A persistent connection (CONN_MAX_AGE > 0) is checked before a request or task uses it: after a
# database restart the first request gets a fresh connection instead of an error.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
# Server-side parameters and prepared statements: a query run often on one connection (the
# sweeper's release statements) is parsed and planned once. Switch off behind a pooler in
# transaction mode that cannot keep prepared statements (PgBouncer before 1.21).
if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="") or (embedded.redis_url() if EMBEDDED_SERVICES else env("REDIS_URL"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "holdfast",
    }
}

# --- Auth -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "marketplace:task_list"
LOGOUT_REDIRECT_URL = "marketplace:task_list"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed log-ins allowed per email and per client IP within the window before a pause.
LOGIN_FAILURE_LIMIT = env.int("HOLDFAST_LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
# Reverse proxies in front of the app that append the client's address to X-Forwarded-For.
# 0 (default): the header is ignored and the connection's address is the client's, so a
# client cannot pick its own address to get round the per-IP limits. With N proxies, the
# N-th address from the right (the one the outermost proxy of ours appended) is counted.
NUM_PROXIES = env.int("HOLDFAST_NUM_PROXIES", default=0)

# --- I18N / time ------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Email ------------------------------------------------------------------------------
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="Holdfast <no-reply@holdfast.test>")

# --- Money ------------------------------------------------------------------------------
HOLDFAST_CURRENCIES = env.list("HOLDFAST_CURRENCIES", default=["USD", "EUR", "GBP"])
CURRENCIES = HOLDFAST_CURRENCIES
DEFAULT_CURRENCY = HOLDFAST_CURRENCIES[0]

# --- Escrow -----------------------------------------------------------------------------
ESCROW_REVIEW_WINDOW = timedelta(days=env.int("HOLDFAST_ESCROW_REVIEW_DAYS", default=7))
ESCROW_PAYMENT_EXPIRY = timedelta(days=env.int("HOLDFAST_ESCROW_PAYMENT_EXPIRY_DAYS", default=7))
ESCROW_STALE_AFTER = timedelta(days=env.int("HOLDFAST_ESCROW_STALE_DAYS", default=30))
ESCROW_MIN_AMOUNT = Decimal(env.str("HOLDFAST_ESCROW_MIN_AMOUNT", default="5.00"))
ESCROW_MAX_AMOUNT = Decimal(env.str("HOLDFAST_ESCROW_MAX_AMOUNT", default="10000.00"))
ESCROW_DAILY_LIMIT = Decimal(env.str("HOLDFAST_ESCROW_DAILY_LIMIT", default="25000.00"))  # per client, per currency
ESCROW_RELEASE_BATCH_SIZE = env.int("HOLDFAST_ESCROW_RELEASE_BATCH_SIZE", default=200)
FEE_DEFAULT_CLIENT_PERCENT = Decimal(env.str("HOLDFAST_FEE_CLIENT_PERCENT", default="5.00"))
FEE_DEFAULT_COMMISSION_PERCENT = Decimal(env.str("HOLDFAST_FEE_COMMISSION_PERCENT", default="20.00"))

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    # JSON only: a nested body (a task's budget) cannot be sent as form data, so none is offered.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.AnonRateThrottle",
        "core.throttling.UserRateThrottle",
    ],
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("HOLDFAST_API_ANON_RATE", default="60/min"),
        "user": env("HOLDFAST_API_USER_RATE", default="600/min"),
        "auth": env("HOLDFAST_API_AUTH_RATE", default="10/min"),
    },
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=14),
    "AUTH_HEADER_TYPES": ("Bearer",),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Holdfast API",
    "DESCRIPTION": "Tasks, offers, escrow and wallets for the Holdfast mobile apps.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served locally (drf-spectacular-sidecar), so /api/docs/ and /api/redoc/ work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL.replace("unix://", "redis+socket://", 1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message a worker took and never acknowledged (acks_late: the worker was killed mid-task) goes
# back to the queue this many seconds after it was taken. It must outlast the longest task (the
# sweeper's 1900 s time limit) plus the longest retry countdown (300 s), or a task still running,
# or waiting for its countdown, is delivered a second time. Beat's repair jobs
# (payouts-execute-due, escrow-refunds-settle, escrows-release-due) pick lost work up sooner.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600)}
# No task may hold a worker for ever (a hung connection, say); tasks that need less say so.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BEAT_SCHEDULE: dict = {
    "escrows-release-due": {"task": "payments.tasks.escrows_release_due", "schedule": 60.0},
    # Payments that succeeded without their webhook reaching us: fund them.
    "escrows-payment-reconcile": {"task": "payments.tasks.escrows_payment_reconcile", "schedule": 900.0},
    "escrows-expire-unfunded": {"task": "payments.tasks.escrows_expire_unfunded", "schedule": 3600.0},
    # Refunds Stripe has not answered for (a timeout, or "pending"): ask again and settle them.
    "escrow-refunds-settle": {"task": "payments.tasks.escrow_refunds_settle", "schedule": 300.0},
    "escrows-flag-stale": {"task": "payments.tasks.escrows_flag_stale", "schedule": 6 * 3600.0},
    # Verifies every ledger invariant; logs and mails the admins on any violation.
    "ledger-check": {"task": "wallets.ledger_check", "schedule": timedelta(hours=1)},
}

# --- Stripe / dj-stripe -----------------------------------------------------------------
# No secret key: the app talks to the Stripe emulator (stripe_emulator/) through the same
# official SDK, with a test-mode key the emulator accepts. A real sk_test_/sk_live_ key: Stripe.
STRIPE_EMULATOR_URL = env("STRIPE_EMULATOR_URL", default="http://127.0.0.1:12111")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_EMULATED = not STRIPE_SECRET_KEY
if STRIPE_EMULATED:
    STRIPE_SECRET_KEY = "sk_test_HoldfastEmulator000000000000"
    STRIPE_PUBLISHABLE_KEY = "pk_test_HoldfastEmulator000000000000"
    STRIPE_API_HOST = STRIPE_EMULATOR_URL  # read by dj-stripe for its own API calls
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith("sk_live_")
STRIPE_PUBLIC_KEY = STRIPE_PUBLISHABLE_KEY
STRIPE_API_VERSION = "2026-08-26.dahlia"  # pinned: the version stripe==15.6.2 is built for
# Optional: the signing secrets printed by `stripe listen` when forwarding with the Stripe CLI.
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_CONNECT_WEBHOOK_SECRET = env("STRIPE_CONNECT_WEBHOOK_SECRET", default="")
STRIPE_CONNECT_COUNTRY = env("STRIPE_CONNECT_COUNTRY", default="US")
# Prefixes our Idempotency-Keys and tags our PaymentIntents: environments that share one Stripe
# account (each developer's machine, staging) need different values, or they see each other's.
STRIPE_NAMESPACE = env("STRIPE_NAMESPACE", default="holdfast")
# The processor new payments go through (processors/registry.py); a payment keeps the one it was made with.
PAYMENT_PROCESSOR = env("HOLDFAST_PAYMENT_PROCESSOR", default="stripe")
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"
DJSTRIPE_USE_NATIVE_JSONFIELD = True

# --- Logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"client_errors_on_one_line": {"()": "core.log_filters.ClientErrorsOnOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    # 403s and other refusals: one warning line each (Django adds a traceback to a 403).
    "loggers": {"django.request": {"filters": ["client_errors_on_one_line"]}},
}

# --- Payouts (payouts app) ------------------------------------------------------------------
PAYOUT_MIN_AMOUNT = Decimal(env("HOLDFAST_PAYOUT_MIN_AMOUNT", default="10.00"))
PAYOUT_FEE = Decimal(env("HOLDFAST_PAYOUT_FEE", default="0"))  # flat, per payout, to platform revenue
PAYOUT_APPROVAL_THRESHOLD = Decimal(env("HOLDFAST_PAYOUT_APPROVAL_THRESHOLD", default="1000.00"))
PAYOUT_SECOND_APPROVAL_THRESHOLD = Decimal(env("HOLDFAST_PAYOUT_SECOND_APPROVAL_THRESHOLD", default="5000.00"))
PAYOUT_FIRST_NEEDS_APPROVAL = env.bool("HOLDFAST_PAYOUT_FIRST_NEEDS_APPROVAL", default=True)
PAYOUT_ARRIVAL_DAYS = env.int("HOLDFAST_PAYOUT_ARRIVAL_DAYS", default=2)  # the estimate shown before requesting
# A payout waiting for the platform's card funds is tried again after this many seconds (by beat).
PAYOUT_FUNDS_RETRY_SECONDS = env.int("HOLDFAST_PAYOUT_FUNDS_RETRY_SECONDS", default=900)
# Stripe's rate limit: writes per second Holdfast allows itself (Stripe: 25/s test mode, 100/s live),
# and how a 429 is retried (exponential backoff with jitter, base and cap in seconds).
STRIPE_MAX_WRITES_PER_SECOND = env.float("STRIPE_MAX_WRITES_PER_SECOND", default=80 if STRIPE_LIVE_MODE else 20)
STRIPE_RATE_LIMIT_RETRIES = env.int("STRIPE_RATE_LIMIT_RETRIES", default=8)
STRIPE_RATE_LIMIT_BACKOFF_BASE = env.float("STRIPE_RATE_LIMIT_BACKOFF_BASE", default=0.25)
STRIPE_RATE_LIMIT_BACKOFF_CAP = env.float("STRIPE_RATE_LIMIT_BACKOFF_CAP", default=8.0)
CELERY_BEAT_SCHEDULE.update(
    {
        # Scheduled payouts (weekly, monthly) whose day has come: request them.
        "payouts-schedule-due": {"task": "payouts.tasks.payouts_schedule_due", "schedule": 3600.0},
        # Payouts waiting for platform funds, or whose job was lost: execute them again.
        "payouts-execute-due": {"task": "payouts.tasks.payouts_execute_due", "schedule": 300.0},
        # Bank payouts in transit whose webhook has not come: read them back from Stripe.
        "payouts-refresh-in-transit": {"task": "payouts.tasks.payouts_refresh_in_transit", "schedule": 3600.0},
        # Holdfast against Stripe: every payout and the platform balance; differences to the admin report.
        "payouts-reconcile": {"task": "payouts.tasks.payouts_reconcile", "schedule": 24 * 3600.0},
    }
)
# --- Disputes and chargebacks -----------------------------------------------------------
# The other party answers a dispute within this many days; then it is in Support's queue anyway.
DISPUTE_RESPONSE_DAYS = env.int("HOLDFAST_DISPUTE_RESPONSE_DAYS", default=3)
# A ruling on more than this (the money the escrow holds) needs a second staff member to confirm it.
DISPUTE_SECOND_APPROVAL_AMOUNT = Decimal(env.str("HOLDFAST_DISPUTE_SECOND_APPROVAL_AMOUNT", default="500.00"))
# Evidence files: images and PDFs up to this size, kept through Django's storage API (STORAGES["default"]).
DISPUTE_EVIDENCE_MAX_BYTES = env.int("HOLDFAST_DISPUTE_EVIDENCE_MAX_BYTES", default=5 * 1024 * 1024)
# A chargeback on an escrow already released: "reserve" takes what the tasker's wallet still holds
# (up to their net) until the chargeback closes; "platform" leaves the wallet alone (the loss is ours).
CHARGEBACK_RELEASED_POLICY = env.str("HOLDFAST_CHARGEBACK_RELEASED_POLICY", default="reserve")
# Chargebacks whose webhooks never came (opened, won or lost at the processor): read back and booked.
CELERY_BEAT_SCHEDULE["disputes-chargebacks-reconcile"] = {
    "task": "disputes.tasks.chargebacks_reconcile",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["disputes-escalate-overdue"] = {
    "task": "disputes.tasks.disputes_escalate_overdue",
    "schedule": 900.0,
}
# --- Notifications and live updates (notifications app) ---------------------------------
# The web process is ASGI (config/asgi.py, served by uvicorn): pages over HTTP, live updates over
# WebSockets at /ws/live/. Each user's sockets join one group of the Redis channel layer (the same
# Redis as Celery and the cache); apps push to it on commit (notifications/live.py).
ASGI_APPLICATION = "config.asgi.application"
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    # Per process and event loop: one web process holds thousands of sockets, which
                    # all leave their groups at once when it restarts.
                    "max_connections": env.int("HOLDFAST_LIVE_REDIS_CONNECTIONS", default=500),
                    # Must outlast the layer's blocking receive (BZPOPMIN, 5 s): redis-py's default
                    # read timeout of 5 s would cut an idle process's receive loop off.
                    "socket_timeout": 30,
                }
            ],
            "prefix": env("HOLDFAST_LIVE_PREFIX", default="holdfast-live"),
            "expiry": 30,
            # Messages waiting for one web process (its sockets share one Redis list): a burst of
            # commits must not overflow it, or messages are dropped.
            "capacity": env.int("HOLDFAST_LIVE_CAPACITY", default=20000),
        },
    }
}
# A page whose socket is down polls this often (seconds) for the parts it shows live.
LIVE_POLL_SECONDS = env.int("HOLDFAST_LIVE_POLL_SECONDS", default=10)
# A socket that has not authenticated within this many seconds is closed.
LIVE_AUTH_TIMEOUT_SECONDS = 10
CELERY_BEAT_SCHEDULE["notifications-release-soon"] = {
    # Tell the client a day before an escrow releases itself (once per review window).
    "task": "notifications.tasks.escrows_release_soon_notify",
    "schedule": 900.0,
}
NOTIFICATIONS_RELEASE_REMINDER = timedelta(hours=24)
# --- Saved cards and wallet top-ups (payments/cards.py, payments/topups/) ----------------
# Per top-up, in the top-up's currency; the daily limit is per client and currency over 24 hours.
WALLET_TOP_UP_MIN = Decimal(env.str("HOLDFAST_WALLET_TOP_UP_MIN", default="10.00"))
WALLET_TOP_UP_MAX = Decimal(env.str("HOLDFAST_WALLET_TOP_UP_MAX", default="2000.00"))
WALLET_TOP_UP_DAILY_LIMIT = Decimal(env.str("HOLDFAST_WALLET_TOP_UP_DAILY_LIMIT", default="5000.00"))
CELERY_BEAT_SCHEDULE.update(
    {
        # Top-ups whose payment succeeded without the webhook reaching us; withdrawals not answered.
        "wallet-top-ups-reconcile": {"task": "payments.tasks.top_ups_payment_reconcile", "schedule": 900.0},
        "wallet-withdrawals-settle": {"task": "payments.tasks.withdrawals_settle", "schedule": 300.0},
    }
)
# --- Reporting (payment history, receipts, statistics, revenue dashboard) -------------------------
# The seller's details printed on receipts and statements.
REPORTING_COMPANY_NAME = env("HOLDFAST_COMPANY_NAME", default="Holdfast")
REPORTING_COMPANY_ADDRESS = env.list(
    "HOLDFAST_COMPANY_ADDRESS", default=["Holdfast Marketplace Ltd", "1 Example Street", "London"]
)
REPORTING_COMPANY_EMAIL = env("HOLDFAST_COMPANY_EMAIL", default="billing@holdfast.test")
REPORTING_HISTORY_PAGE_SIZE = 25
# Adds the newest ledger postings to the revenue dashboard's daily roll-up (the dashboard is exact
# without it; the job keeps the part it reads live small).
CELERY_BEAT_SCHEDULE["reporting-ledger-rollup"] = {"task": "reporting.ledger_rollup_refresh", "schedule": 300.0}
LOGGING["loggers"]["fontTools"] = {"level": "WARNING"}  # the PDF font subsetter: one line per table otherwise
