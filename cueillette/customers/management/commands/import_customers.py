"""Import customers from a CSV file: ``manage.py import_customers <org-slug> file.csv``.

Columns: first_name, last_name, email, phone, postal_code, language, birthday (YYYY-MM-DD),
notes, tags (comma-separated), heard_from, heard_from_detail (common French and English headers
such as "Prénom", "Nom", "Téléphone", "Code postal" are understood), one ``consent_<purpose>``
column per purpose (yes/no, oui/non, 1/0, x; empty: not asked), plus
``consent_news_email_confirmed_at`` (when the customer confirmed their email in the previous
system: without it, news by email is not granted). Every bad row is reported with its line and
column; good rows are imported unless ``--all-or-nothing``. The exit status is 1 if any row was
bad, so scripts can notice.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.customers.bulk import (
    BATCH_SIZE,
    ImportReport,
    csv_rows,
    dict_reader,
    import_rows,
)

MAX_ISSUES_SHOWN = 200


def open_csv(path: Path, delimiter: str | None, encoding: str) -> tuple[Any, csv.DictReader[str]]:
    """Open a CSV file, guessing the delimiter (; , tab |) unless it is given."""
    handle = path.open(newline="", encoding=encoding)
    return handle, dict_reader(handle, delimiter)


class Command(BaseCommand):
    help = "Import customers (and their consents) from a CSV file into one organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", help="the organization's slug (public address)")
        parser.add_argument("file", type=Path, help="a CSV file with a header line")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="write nothing if any row is bad (default: import the good rows)",
        )
        parser.add_argument(
            "--delimiter", default=None, help="cell separator (default: guessed: ; , tab |)"
        )
        parser.add_argument("--encoding", default="utf-8-sig", help="file encoding")
        parser.add_argument(
            "--duplicates",
            choices=["skip", "error"],
            default="skip",
            help="rows sharing an email or phone with another: skip them (default) or "
            "count them as errors",
        )
        parser.add_argument(
            "--request-confirmations",
            action="store_true",
            help="email a confirmation link to rows with consent_news_email=yes and no "
            "confirmation date (the grant is recorded when they click)",
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        # Organization is not a tenant table: looking it up by slug needs no tenant.
        org = Organization.objects.filter(slug=options["organization"]).first()
        if org is None:
            raise CommandError(f"no organization with the address {options['organization']!r}")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            handle, reader = open_csv(path, options["delimiter"], options["encoding"])
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{path}: not {options['encoding']} text; try --encoding cp1252 (Excel)"
            ) from exc
        except OSError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        with handle, tenant_context(org):
            if not reader.fieldnames:
                raise CommandError(f"{path}: the file is empty (a header line is expected)")
            try:
                report = import_rows(
                    csv_rows(reader),
                    actor=Actor.system(f"import {path.name}"[:200]),
                    dry_run=options["dry_run"],
                    all_or_nothing=options["all_or_nothing"],
                    duplicates=options["duplicates"],
                    request_confirmations=options["request_confirmations"],
                    batch_size=options["batch_size"],
                )
            except UnicodeDecodeError as exc:
                raise CommandError(
                    f"{path}: not {options['encoding']} text; try --encoding cp1252 (Excel)"
                ) from exc
            except ServiceError as exc:
                raise CommandError(exc.message) from exc
        self.print_report(report)
        if report.errors:
            sys.exit(1)

    def print_report(self, report: ImportReport) -> None:
        out = self.stdout.write
        for issue in report.errors[:MAX_ISSUES_SHOWN]:
            self.stderr.write(_("error: %(issue)s") % {"issue": issue})
        for issue in report.warnings[:MAX_ISSUES_SHOWN]:
            out(_("warning: %(issue)s") % {"issue": issue})
        hidden = max(0, len(report.errors) - MAX_ISSUES_SHOWN) + max(
            0, len(report.warnings) - MAX_ISSUES_SHOWN
        )
        if hidden:
            out(_("... and %(n)d more") % {"n": hidden})
        if report.dry_run:
            verdict = _("dry run: nothing written")
        elif report.all_or_nothing and report.errors:
            verdict = _("nothing written: fix the bad rows and run again")
        else:
            verdict = _("%(n)d customers created") % {"n": report.created}
        out(
            _(
                "%(rows)d rows read, %(valid)d valid, %(bad)d bad, %(dup)d duplicates skipped; "
                "%(verdict)s; %(consents)d consent entries, %(confirm)d confirmation emails "
                "requested"
            )
            % {
                "rows": report.rows,
                "valid": report.importable,
                "bad": len(report.bad_lines),
                "dup": report.duplicates,
                "verdict": verdict,
                "consents": report.consents,
                "confirm": report.confirmations_requested,
            }
        )
