"""Import customers: ``manage.py import_customers <org> FILE [--format auto|mailchimp|shopify|csv]
[--dry-run] [--consent-basis none|double-opt-in|single-opt-in|paper]``.

The format is detected from the header (Mailchimp audience exports — subscribed, unsubscribed
and cleaned files, old and new headers —, Shopify customer exports, any CSV with our column
names or common French and English headers); the encoding (UTF-8 with or without BOM,
Windows-1252, Latin-1) and the delimiter are detected too.

Consent is never invented: without ``--consent-basis`` the grants of the file are not recorded
(unsubscribed and cleaned rows still become withdrawals and suppressions). No email is sent.
Every bad row is reported with its line, column and reason; the others are imported in batches,
each committed with its offset, so a killed run resumes where it stopped when run again with
the same file. The last output line is
``rows=N created=N updated=N merged=N skipped=N bad=N consent_entries=N withdrawals=N
suppressed=N``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cueillette.imports.management.commands._importing import run
from cueillette.imports.models import ConsentBasis, Kind
from cueillette.imports.services import consent_columns


class Command(BaseCommand):
    help = "Import customers (and their consents) from another tool's export into one organization."
    # The system checks import every URL configuration and view (the insights pages pull in
    # numpy and scipy): about a second of start-up an import does not need; ``manage.py
    # check`` and the test suite run them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", help="the organization's slug (public address)")
        parser.add_argument("file", type=Path, help="a CSV file with a header line")
        parser.add_argument(
            "--format", choices=["auto", "mailchimp", "shopify", "csv"], default="auto"
        )
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument(
            "--consent-basis",
            choices=ConsentBasis.values,
            default=ConsentBasis.NONE,
            help="how the people of the file agreed to the consents it states (default: none: "
            "no grant is recorded)",
        )
        parser.add_argument(
            "--month-first", action="store_true", help="dates are MM/DD/YYYY (CSV format)"
        )
        parser.add_argument("--encoding", default=None, help="default: detected")
        parser.add_argument("--delimiter", default=None, help="default: guessed (; , tab |)")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
        parser.add_argument("--stop-after-batches", type=int, default=None, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        basis = options["consent_basis"]

        def configure_for(imp: Any) -> dict[str, str]:
            # Every consent column of the file gets the stated basis.
            return {column: basis for column, _purpose in consent_columns(imp)}

        run(
            self,
            kind=Kind.CUSTOMERS,
            options=options,
            configure={
                "consent_basis_for": configure_for,
                "month_first": options["month_first"] or None,
            },
        )
