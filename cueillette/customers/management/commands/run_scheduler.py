"""``manage.py run_scheduler``: the daily jobs, without cron.

Runs forever: at start, then once every ``--interval`` seconds (a day by default), it enqueues
the retention task (:func:`cueillette.customers.retention.anonymise_inactive`) for every
organization. A task worker (``manage.py db_worker``) runs the queued tasks.

* ``--once``: one pass, then exit (tests, or a cron line ``0 3 * * * manage.py run_scheduler
  --once``);
* ``--inline``: run the passes here instead of queueing them (no worker needed); this is what
  ``manage.py run_retention`` does.

Apps join the daily pass by listing their tasks module in :data:`DAILY_MODULES`: each module
provides ``run_all(now=None) -> dict[slug, report]`` (inline) and ``enqueue_all() -> int``
(queued for the worker), one organization at a time.
"""

from __future__ import annotations

import time
from importlib import import_module
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cueillette.customers import retention

DAY = 24 * 3600

# The daily passes beside retention: a module per app, each with run_all() and enqueue_all().
# Add yours here (one line); the order is the order they run in.
DAILY_MODULES: tuple[str, ...] = (
    "cueillette.core.tasks",  # purge old idempotency records
    "cueillette.loyalty.tasks",  # expire due points, expiry warnings, monthly tier review
    "cueillette.feedback.tasks",  # NPS surveys after purchases and visits
    "cueillette.community.drafts",  # purge unconfirmed first posts past their expiry
    "cueillette.referrals.tasks",  # flagged referrals past their review deadline: default
    "cueillette.community.tasks",  # the owner's weekly community digest (when a week passed)
)


class Command(BaseCommand):
    help = "Enqueue the daily retention pass for every organization (at start, then daily)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument(
            "--inline", action="store_true", help="run the passes here instead of queueing"
        )
        parser.add_argument(
            "--interval", type=int, default=DAY, help="seconds between passes (default: a day)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = max(60, int(options["interval"]))
        while True:
            self.one_pass(inline=bool(options["inline"]))
            if options["once"]:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return

    def one_pass(self, *, inline: bool) -> None:
        if inline:
            for slug, report in retention.run_all().items():
                self.stdout.write(
                    f"{slug}: {report['warned']} warned, {report['erased']} anonymised"
                )
        else:
            count = retention.enqueue_all()
            self.stdout.write(f"retention queued for {count} organization(s)")
        for name in DAILY_MODULES:
            module: Any = import_module(name)
            label = name.rsplit(".", 2)[-2]
            if inline:
                for slug, done in module.run_all().items():
                    self.stdout.write(f"{slug}: {label} {done}")
            else:
                count = module.enqueue_all()
                self.stdout.write(f"{label} pass queued for {count} organization(s)")
