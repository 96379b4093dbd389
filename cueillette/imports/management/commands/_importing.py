"""What ``import_customers`` and ``import_sales`` share: register, check or run, print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.imports import reading, services
from cueillette.imports.models import Import, ImportIssue, Severity

MAX_ISSUES_SHOWN = 200


def organization(slug: str) -> Organization:
    # Organization is not a tenant table: looking it up by slug needs no tenant.
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise CommandError(f"no organization with the address {slug!r}")
    return org


def run(
    cmd: BaseCommand, *, kind: str, options: dict[str, Any], configure: dict[str, Any]
) -> Import:
    org = organization(options["organization"])
    path: Path = options["file"]
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    dry_run = bool(options["dry_run"])
    with tenant_context(org):
        actor = Actor.system(f"import {path.name}"[:200])
        try:
            info_hash = reading.file_hash(path)[0]
            imp = None if dry_run else services.resumable(kind, info_hash)
            if imp is not None:
                cmd.stderr.write(f"resuming import #{imp.pk} after row {imp.processed_rows}")
            else:
                imp = services.register_file(
                    path,
                    filename=path.name,
                    kind=kind,
                    actor=actor,
                    layout=options["format"],
                    encoding=options.get("encoding"),
                    delimiter=options.get("delimiter"),
                    copy=False,
                )
                settings = dict(configure)
                basis_for = settings.pop("consent_basis_for", None)
                if basis_for is not None:
                    settings["consent_basis"] = basis_for(imp)
                services.configure(imp, actor=actor, **settings)
                if dry_run:
                    imp.dry_run = True
                    imp.save(update_fields=["dry_run"])
            cmd.stderr.write(f"{imp.get_layout_display()} ({imp.encoding}, '{imp.delimiter}')")
            progress = _Bar(cmd) if not options.get("quiet") else None
            imp = services.process(
                imp.pk,
                dry_run=dry_run,
                batch_size=options["batch_size"],
                on_progress=progress,
                after_batch=_killer(options.get("stop_after_batches")),
            )
            if progress:
                progress.done()
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        issues = ImportIssue.objects.filter(import_run=imp, from_check=dry_run).order_by(
            "line", "id"
        )
        for issue in issues[:MAX_ISSUES_SHOWN]:
            word = "error" if issue.severity == Severity.ERROR else "warning"
            cmd.stdout.write(f"{word}: line {issue.line}, {issue.field}: {issue.message}")
        hidden = issues.count() - MAX_ISSUES_SHOWN
        if hidden > 0:
            cmd.stdout.write(f"... and {hidden} more (see the import's page)")
        if dry_run:
            cmd.stdout.write("dry run: nothing written")
        cmd.stdout.write(services.summary_line(imp, dry_run=dry_run))
    return imp


def _killer(n: int | None) -> Any:
    """``--stop-after-batches N`` (tests): exit abruptly after N committed batches, as a kill
    would."""
    if not n:
        return None

    def after(batch_no: int) -> None:
        if batch_no >= n:
            sys.stdout.flush()
            import os

            os._exit(137)

    return after


class _Bar:
    """A progress bar on stderr (the last line of stdout stays the summary)."""

    def __init__(self, cmd: BaseCommand) -> None:
        self.cmd = cmd
        self.tty = sys.stderr.isatty()

    def __call__(self, p: services.Progress) -> None:
        total = max(p.total, p.processed, 1)
        share = p.processed / total
        bar = "#" * int(30 * share)
        text = f"[{bar:<30}] {p.processed}/{total} rows ({share:.0%})"
        if self.tty:
            sys.stderr.write("\r" + text)
            sys.stderr.flush()
        else:
            self.cmd.stderr.write(text)

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
