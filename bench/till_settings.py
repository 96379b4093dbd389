"""Settings of the gunicorn that ``bench/loyalty.py`` starts: production settings, plus the
bench's floor route and ``Server-Timing`` header (``bench/till_app.py``), and persistent
database connections (each worker keeps its one connection for the whole run)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.till_urls"
MIDDLEWARE = ["bench.till_app.ServerTiming", *MIDDLEWARE]  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = None  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False  # noqa: F405
