"""``manage.py run_scheduler``: the periodic jobs, without cron.

Runs forever: it wakes at start, then once every ``--interval`` seconds (an hour by default).
Each time it runs the hourly passes (:data:`HOURLY_MODULES`: NPS surveys, so "two hours after
a visit" means about two hours, not "at the next nightly pass"); once a day (the first wake-up,
then whenever a day has passed) it also runs the retention task
(:func:`cueillette.customers.retention.anonymise_inactive`) and the daily passes
(:data:`DAILY_MODULES`). Each pass is queued one organization at a time for the task worker
(``manage.py db_worker``). Every pass is idempotent: running one twice does nothing twice.

* ``--once``: one wake-up with every pass, then exit (tests, or cron lines
  ``0 * * * * manage.py run_scheduler --once --hourly`` and ``0 3 * * * manage.py
  run_scheduler --once``);
* ``--hourly``: only the hourly passes;
* ``--inline``: run the passes here instead of queueing them (no worker needed); this is what
  ``manage.py run_retention`` does.

Apps join by listing their tasks module in :data:`DAILY_MODULES` or :data:`HOURLY_MODULES`:
each module provides ``run_all(now=None) -> dict[slug, report]`` (inline) and
``enqueue_all() -> int`` (queued for the worker), one organization at a time.
"""

from __future__ import annotations

import time
from importlib import import_module
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cueillette.customers import retention

HOUR = 3600
DAY = 24 * HOUR

# Passes run at every wake-up (hourly by default): work whose timing a person notices.
HOURLY_MODULES: tuple[str, ...] = (
    "cueillette.feedback.tasks",  # NPS surveys, the organization's delay after purchases/visits
    "cueillette.webhooks.tasks",  # webhook deliveries due (retries, and after a crash)
)

# The daily passes beside retention: a module per app, each with run_all() and enqueue_all().
# Add yours here (one line); the order is the order they run in.
DAILY_MODULES: tuple[str, ...] = (
    "cueillette.core.tasks",  # purge old idempotency records
    "cueillette.loyalty.tasks",  # expire due points, expiry warnings, monthly tier review
    "cueillette.community.drafts",  # purge unconfirmed first posts past their expiry
    "cueillette.referrals.tasks",  # flagged referrals past their review deadline: default
    "cueillette.community.tasks",  # the owner's weekly community digest (when a week passed)
)


class Command(BaseCommand):
    help = (
        "Enqueue the periodic passes for every organization: hourly ones at every wake-up, "
        "retention and the daily ones once a day."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument(
            "--inline", action="store_true", help="run the passes here instead of queueing"
        )
        parser.add_argument("--hourly", action="store_true", help="only the hourly passes")
        parser.add_argument(
            "--interval",
            type=int,
            default=HOUR,
            help="seconds between wake-ups (default: an hour); daily passes run once a day",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = max(60, int(options["interval"]))
        inline = bool(options["inline"])
        last_daily: float | None = None
        while True:
            self.hourly_pass(inline=inline)
            if not options["hourly"] and (
                last_daily is None or time.monotonic() - last_daily >= DAY - interval / 2
            ):
                last_daily = time.monotonic()
                self.daily_pass(inline=inline)
            if options["once"]:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return

    def hourly_pass(self, *, inline: bool) -> None:
        self._modules(HOURLY_MODULES, inline=inline)

    def daily_pass(self, *, inline: bool) -> None:
        if inline:
            for slug, report in retention.run_all().items():
                self.stdout.write(
                    f"{slug}: {report['warned']} warned, {report['erased']} anonymised"
                )
        else:
            count = retention.enqueue_all()
            self.stdout.write(f"retention queued for {count} organization(s)")
        self._modules(DAILY_MODULES, inline=inline)

    def _modules(self, names: tuple[str, ...], *, inline: bool) -> None:
        for name in names:
            module: Any = import_module(name)
            label = name.rsplit(".", 2)[-2]
            if inline:
                for slug, done in module.run_all().items():
                    self.stdout.write(f"{slug}: {label} {done}")
            else:
                count = module.enqueue_all()
                self.stdout.write(f"{label} pass queued for {count} organization(s)")
