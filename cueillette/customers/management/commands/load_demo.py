"""``manage.py load_demo [--reset]``: the demo businesses, staff and customers of ``make demo``."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cueillette.customers import demo


class Command(BaseCommand):
    help = "Load realistic demo data (idempotent); --reset removes the demo businesses first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="remove the demo businesses and load them again"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["reset"]:
            removed = demo.reset()
            if removed:
                self.stdout.write(f"Removed {removed} demo businesses.")
        if demo.load(log=self.stdout.write):
            self.stdout.write(f"Demo data loaded in {time.monotonic() - started:.1f} s.")
