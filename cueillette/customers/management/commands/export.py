"""Export an organization's data: ``manage.py export <org> customers|consents|points|purchases|posts
[--format csv|json] [--output FILE]``.

CSV is for spreadsheets (UTF-8 with BOM, ``;``) and every cell that a spreadsheet would run as
a formula (``= + - @``, tab, CR) is prefixed with ``'``; JSON keeps every value as it is. The
export is audited (who, what, how many rows — never their content).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.customers import export as data_export
from cueillette.customers.services import log_export


class _Counted:
    def __init__(self, rows: Any) -> None:
        self.rows = rows
        self.n = 0

    def __iter__(self) -> Any:
        for row in self.rows:
            self.n += 1
            yield row


class Command(BaseCommand):
    help = (
        "Export customers, the consent ledger, points, purchases or community posts as CSV or JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", help="the organization's slug (public address)")
        parser.add_argument("kind", choices=data_export.EXPORT_KINDS)
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument(
            "--output", type=Path, default=None, help="file to write (default: standard output)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organization.objects.filter(slug=options["organization"]).first()
        if org is None:
            raise CommandError(f"no organization with the address {options['organization']!r}")
        header, rows = data_export.export_data(org, options["kind"])
        counted = _Counted(rows)
        chunks = (
            data_export.iter_data_json(iter(counted))
            if options["format"] == "json"
            else data_export.iter_data_csv(header, iter(counted))
        )
        out = (
            options["output"].open("w", encoding="utf-8", newline="") if options["output"] else None
        )

        def write(chunk: str) -> None:
            if out:
                out.write(chunk)
            else:
                self.stdout.write(chunk, ending="")

        try:
            for chunk in chunks:
                write(chunk)
        finally:
            if out:
                out.close()
        with tenant_context(org):
            log_export(
                Actor.system("manage.py export"),
                rows=counted.n,
                kind=options["kind"],
                fmt=options["format"],
            )
