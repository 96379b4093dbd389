"""Settings for the test suite: the same as production, with fast hashing and inline tasks."""

import os

# One folder per pytest-xdist worker (gw0, gw1...): files written by one never meet another's.
# The workers inherit the environment of the main process, which has already set the folder.
os.environ.setdefault("CUEILLETTE_VAR_DIR", "/tmp/cueillette-test-var")  # noqa: S108
if os.environ.get("PYTEST_XDIST_WORKER") and not os.environ["CUEILLETTE_VAR_DIR"].endswith(
    "-" + os.environ["PYTEST_XDIST_WORKER"]
):
    os.environ["CUEILLETTE_VAR_DIR"] += "-" + os.environ["PYTEST_XDIST_WORKER"]

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run as soon as they are enqueued (after commit), so emails arrive during the test.
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "emails"],
    }
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if not os.environ.get("DATABASE_URL"):
    DATABASES["default"]["NAME"] = ":memory:"  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}  # noqa: F405
API_RATE_LIMIT = 10_000
LOGGING = {"version": 1, "disable_existing_loggers": False}
