"""Import sales history: ``manage.py import_sales <org> FILE [--format auto|square|csv] [--dry-run]
[--award-points]``. The last line of the output is
``rows=N purchases=N refunds=N matched=N unmatched=N skipped=N bad=N``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cueillette.imports.management.commands._importing import run
from cueillette.imports.models import Kind


class Command(BaseCommand):
    help = "Import past sales (Square transactions or a sales CSV) into one organization."
    # The system checks import every URL configuration and view (the insights pages pull in
    # numpy and scipy): about a second of start-up an import does not need; ``manage.py
    # check`` and the test suite run them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", help="the organization's slug (public address)")
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=["auto", "square", "csv"], default="auto")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument(
            "--award-points",
            action="store_true",
            help="credit loyalty points for matched past sales",
        )
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--encoding", default=None, help="default: detected")
        parser.add_argument("--delimiter", default=None, help="default: guessed")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
        parser.add_argument("--stop-after-batches", type=int, default=None, help=argparse_hidden())

    def handle(self, *args: Any, **options: Any) -> None:
        run(
            self,
            kind=Kind.SALES,
            options=options,
            configure={"award_points": options["award_points"], "currency": options["currency"]},
        )


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS
