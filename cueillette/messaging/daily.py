"""The messaging daily pass for ``run_scheduler.DAILY_MODULES`` (birthdays, "we miss you",
rewards reached); the hourly one is ``messaging.tasks``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cueillette.core import scheduling
from cueillette.messaging.tasks import daily, run_daily


def run_all(now: dt.datetime | None = None) -> dict[str, Any]:
    return scheduling.run_for_each(run_daily, now)


def enqueue_all() -> int:
    return scheduling.enqueue_for_each(daily)
