"""Cueillette settings: every deployment-specific value is read from the environment.

See docs/deploy.md for the list. Defaults give a working SQLite setup for `make demo`.
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CUEILLETTE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("CUEILLETTE_DEBUG", False)
SECRET_KEY = os.environ.get("CUEILLETTE_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("CUEILLETTE_REQUIRE_SECRET", False):
        raise RuntimeError("CUEILLETTE_SECRET_KEY must be set in production")
    # Development/test only: a stable, obviously-insecure key. Production sets the variable.
    SECRET_KEY = "dev-insecure-" + "x" * 50

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("CUEILLETTE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CUEILLETTE_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
# Absolute URL used in emails and on posters (no request at hand in tasks).
SITE_URL = os.environ.get("CUEILLETTE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "cueillette.core",
    "cueillette.accounts",
    "cueillette.customers",
    "cueillette.public",
    "cueillette.apikeys",
    "cueillette.loyalty",
    "cueillette.referrals",
    "cueillette.community",
    "cueillette.feedback",
    "cueillette.insights",
    "cueillette.events",
    "cueillette.imports",
    "cueillette.webhooks",
    "cueillette.messaging",
    "cueillette.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cueillette.web.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cueillette.core.middleware.TenantMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cueillette.core.context_processors.tenant",
            ],
        },
    }
]

# Database: SQLite (WAL) by default; DATABASE_URL=postgres://... for PostgreSQL.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("CUEILLETTE_SQLITE_PATH", str(VAR_DIR / "cueillette.sqlite3")),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if env_bool("CUEILLETTE_FAST_HASHER"):
    # Tests only: hashing speed is not what they verify.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions expire: two weeks at most, eight hours idle for staff (refreshed on each request).
SESSION_COOKIE_AGE = int(os.environ.get("CUEILLETTE_SESSION_AGE", 8 * 3600))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
HTTPS = env_bool("CUEILLETTE_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = False
# Preloading is a per-domain decision (hstspreload.org), not a default: the deploy check about
# it does not apply.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "cueillette" / "locale"]
# English pages use en-GB formats (day first, 24 h); the language code stays "en".
FORMAT_MODULE_PATH = ["cueillette.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Paris"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Email: SMTP when CUEILLETTE_EMAIL_HOST is set, else files under var/mail for the demo.
EMAIL_HOST = os.environ.get("CUEILLETTE_EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("CUEILLETTE_EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("CUEILLETTE_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("CUEILLETTE_EMAIL_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("CUEILLETTE_EMAIL_TLS", False)
    EMAIL_USE_SSL = env_bool("CUEILLETTE_EMAIL_SSL", False)
else:
    EMAIL_BACKEND = os.environ.get(
        "CUEILLETTE_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
    )
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = os.environ.get(
    "CUEILLETTE_FROM_EMAIL", "Cueillette <noreply@cueillette.local>"
)
EMAIL_TIMEOUT = 10

CACHES = {
    "default": {
        "BACKEND": os.environ.get(
            "CUEILLETTE_CACHE_BACKEND", "django.core.cache.backends.locmem.LocMemCache"
        ),
        "LOCATION": os.environ.get("CUEILLETTE_CACHE_LOCATION", "cueillette"),
    }
}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("CUEILLETTE_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "emails"],
    }
}

# The reverse proxies in front of the application, whose X-Forwarded-For is believed: a number
# of proxies ("1" for one nginx) or their networks ("127.0.0.1/32,10.0.0.0/8"). Empty: the
# header is ignored (anyone can write it) and the connecting address is the client's.
TRUSTED_PROXIES = os.environ.get("CUEILLETTE_TRUSTED_PROXIES", "")
# Login: failures per (account, client address) before that address is refused for that account
# for the window; past LOGIN_SLOWDOWN_AFTER failures of one account (from anywhere) an address
# that already failed waits 1, 2, 4... up to LOGIN_SLOWDOWN_MAX seconds between its tries.
LOGIN_RATE_LIMIT = int(os.environ.get("CUEILLETTE_LOGIN_RATE_LIMIT", "5"))
LOGIN_RATE_WINDOW = int(os.environ.get("CUEILLETTE_LOGIN_RATE_WINDOW", "900"))
LOGIN_SLOWDOWN_AFTER = int(os.environ.get("CUEILLETTE_LOGIN_SLOWDOWN_AFTER", "10"))
LOGIN_SLOWDOWN_MAX = int(os.environ.get("CUEILLETTE_LOGIN_SLOWDOWN_MAX", "60"))
# API rate limit: requests per key per minute.
API_RATE_LIMIT = int(os.environ.get("CUEILLETTE_API_RATE_LIMIT", "600"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CUEILLETTE_LOG_LEVEL", "WARNING")},
}

# Webhooks: only public HTTPS addresses are called (server-side request forgery), unless this
# is set (development, tests with a receiver on loopback).
WEBHOOKS_ALLOW_PRIVATE = env_bool("CUEILLETTE_WEBHOOKS_ALLOW_PRIVATE")
