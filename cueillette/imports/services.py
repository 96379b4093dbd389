"""Every write of the imports app: register a file, state its choices, check it, import it.

``process`` is the worker (a django-tasks task for the pages, in-process for the CLI): it reads
the file in batches; each batch is one transaction that writes its rows, their reported issues,
one audit row and the new row offset together. A run killed between two batches is resumed
from the last committed offset (same file, same organization): nothing is written twice and
no row is half-written.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cueillette.accounts.models import Membership
from cueillette.core import audit, permissions
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import current_org
from cueillette.imports import layouts, reading
from cueillette.imports.customer_import import COUNT_KEYS, CustomerImporter
from cueillette.imports.errors import Code
from cueillette.imports.layouts import Issue
from cueillette.imports.models import (
    ColumnMapping,
    ConsentBasis,
    Import,
    ImportIssue,
    Kind,
    Layout,
    Severity,
    Status,
)

BATCH_SIZE = 1000
MAX_ISSUES = 100_000  # per run: a file of bad rows is reported, not stored without end
SALES_COUNT_KEYS = (
    "rows",
    "purchases",
    "refunds",
    "matched",
    "unmatched",
    "skipped",
    "bad",
    "warnings",
    "points_awarded",
)


def storage_dir() -> Path:
    return Path(getattr(settings, "IMPORTS_DIR", Path(settings.VAR_DIR) / "imports"))


@transaction.atomic
def register_file(
    path: Path,
    *,
    filename: str,
    kind: str,
    actor: Actor,
    layout: str = "auto",
    encoding: str | None = None,
    delimiter: str | None = None,
    copy: bool = True,
) -> Import:
    """Store a file to import and what it is (layout, encoding, delimiter, header); no row
    is read."""
    permissions.require(actor, Perm.IMPORT_CUSTOMERS)
    info = reading.inspect(path, encoding, delimiter)
    org = current_org()
    if copy:
        folder = storage_dir() / str(org.pk)
        folder.mkdir(parents=True, exist_ok=True)
        stored = folder / f"{info.sha256}.csv"
        if not stored.exists():
            shutil.copyfile(path, stored)
    else:
        stored = path.resolve()
    handle, header, _rows = reading.header_and_rows(stored, info.encoding, info.delimiter)
    handle.close()
    if not header:
        raise ServiceError(
            Code.EMPTY_FILE, _("file: the file is empty (a header line is expected)"), field="file"
        )
    detected = layouts.detect(header, filename)
    if layout == "auto":
        layout = detected
        if kind == Kind.CUSTOMERS and layout == Layout.SQUARE:
            raise ServiceError(
                Code.BAD_FILE,
                _("file: this is a sales file (Square transactions): import it as sales history"),
                field="file",
            )
        if kind == Kind.SALES and layout not in (Layout.SQUARE, Layout.CSV):
            raise ServiceError(
                Code.BAD_FILE,
                _("file: this is a customer file: import it as customers"),
                field="file",
            )
    options: dict[str, Any] = {}
    if layout == Layout.MAILCHIMP:
        options["mailchimp_status"] = layouts.mailchimp_status(header, filename)
    if layout == Layout.CSV:
        remembered = ColumnMapping.objects.filter(signature=layouts.signature(header)).first()
        guess = (
            layouts.guess_sales_mapping(header)
            if kind == Kind.SALES
            else layouts.guess_customer_mapping(header)
        )
        options["mapping"] = {
            h: (remembered.mapping.get(h, guess.get(h, "")) if remembered else guess.get(h, ""))
            for h in header
        }
        options["mapping_remembered"] = remembered is not None
    imp = Import.objects.create(
        kind=kind,
        layout=layout,
        filename=filename[:255],
        file_path=str(stored),
        file_hash=info.sha256,
        file_size=info.size,
        encoding=info.encoding,
        delimiter=info.delimiter,
        options=options,
        total_estimate=max(0, info.lines - 1),
        created_by=actor.user,
    )
    audit.record(
        actor, "imports.file_registered", imp, contents=kind, layout=layout, size=info.size
    )
    return imp


def _file_gone(imp: Import) -> ServiceError:
    return ServiceError(
        "file_gone",
        _("the file %(name)s is no longer on the server: upload it again") % {"name": imp.filename},
        field="file",
        status=409,
    )


def header_of(imp: Import) -> list[str]:
    try:
        handle, header, _rows = reading.header_and_rows(
            Path(imp.file_path), imp.encoding, imp.delimiter
        )
    except FileNotFoundError as exc:
        raise _file_gone(imp) from exc
    handle.close()
    return header


def preview_of(imp: Import) -> tuple[list[str], list[list[str]]]:
    """The header and the first rows, as the choices screen shows them."""
    try:
        return reading.preview(Path(imp.file_path), imp.encoding, imp.delimiter)
    except FileNotFoundError as exc:
        raise _file_gone(imp) from exc


def consent_columns(imp: Import) -> list[tuple[str, str]]:
    if imp.kind != Kind.CUSTOMERS:
        return []
    return layouts.customer_layout(imp.layout, header_of(imp), imp.options).consent_columns()


@transaction.atomic
def configure(
    imp: Import,
    *,
    actor: Actor,
    mapping: dict[str, str] | None = None,
    consent_basis: dict[str, str] | None = None,
    award_points: bool | None = None,
    currency: str | None = None,
    month_first: bool | None = None,
) -> Import:
    """State how to read the file (column mapping, remembered for this organization) and on
    which basis each consent column was given (``none`` unless stated)."""
    permissions.require(actor, Perm.IMPORT_CUSTOMERS)
    if imp.status not in (Status.DRAFT, Status.CHECKED, Status.FAILED):
        raise ServiceError(
            Code.WRONG_STATE, _("this import has started: its choices can no longer change")
        )
    options = dict(imp.options)
    header = header_of(imp)
    if mapping is not None:
        allowed = layouts.SALE_FIELDS if imp.kind == Kind.SALES else layouts.CUSTOMER_FIELDS
        bad = [f for f in mapping.values() if f and f not in allowed]
        if bad:
            raise ServiceError(
                Code.INVALID, _("unknown field: %(f)s") % {"f": bad[0]}, field="mapping"
            )
        options["mapping"] = {h: mapping.get(h, "") for h in header}
        ColumnMapping.objects.update_or_create(
            signature=layouts.signature(header),
            defaults={"headers": header, "mapping": options["mapping"]},
        )
    if consent_basis is not None:
        for column, basis in consent_basis.items():
            if basis not in ConsentBasis.values:
                raise ServiceError(
                    Code.INVALID,
                    _("say how these people agreed: %(c)s") % {"c": column},
                    field=f"basis:{column}",
                )
        options["consent_basis"] = dict(consent_basis)
    if award_points is not None:
        options["award_points"] = bool(award_points)
    if currency:
        options["currency"] = currency.upper()[:3]
    if month_first is not None:
        options["month_first"] = month_first
    imp.options = options
    imp.save(update_fields=["options", "updated_at"])
    audit.record(actor, "imports.configured", imp, consent_basis=options.get("consent_basis", {}))
    return imp


@transaction.atomic
def start(imp: Import, *, actor: Actor, dry_run: bool) -> Import:
    """Queue the check (dry run) or the import itself; the worker is ``tasks.run_import``."""
    permissions.require(actor, Perm.IMPORT_CUSTOMERS)
    from cueillette.imports import tasks

    locked = Import.objects.select_for_update().get(pk=imp.pk)
    if locked.in_progress:
        raise ServiceError(Code.WRONG_STATE, _("this import is already running"))
    if locked.status == Status.DONE:
        raise ServiceError(Code.WRONG_STATE, _("this file was already imported"))
    locked.status = Status.CHECKING if dry_run else Status.RUNNING
    if dry_run or not locked.counts:
        locked.processed_rows = 0  # otherwise an interrupted import resumes at its offset
    locked.error = ""
    locked.save(update_fields=["status", "processed_rows", "error", "updated_at"])
    audit.record(actor, "imports.checked" if dry_run else "imports.started", locked)
    org_id = locked.organization_id
    transaction.on_commit(lambda: tasks.run_import.enqueue(locked.pk, org_id, dry_run))
    return locked


def actor_for(imp: Import) -> Actor:
    """Who a background run acts as: the person who started the import, with their role
    now (a member removed since then has none, and the run is refused)."""
    if imp.created_by is None:
        return Actor.system(f"import {imp.filename}"[:200])
    membership = Membership.objects.filter(user=imp.created_by).first()
    return Actor.staff(imp.created_by, membership.role if membership is not None else None)


@dataclass
class Progress:
    processed: int
    total: int


def _store_issues(imp: Import, issues: list[tuple[int, Issue]], *, dry_run: bool, room: int) -> int:
    rows = [
        ImportIssue(
            organization_id=imp.organization_id,
            import_run=imp,
            from_check=dry_run,
            line=line,
            field=str(issue.field)[:100],
            code=str(issue.code)[:40],
            message=str(issue.message)[:500],
            severity=Severity.ERROR if issue.error else Severity.WARNING,
        )
        for line, issue in issues[: max(0, room)]
    ]
    ImportIssue.objects.bulk_create(rows)
    return len(rows)


def _records(layout: Any, rows: Iterator[tuple[int, list[str]]], skip: int) -> Iterator[Any]:
    """Records after the first ``skip`` data rows; a truncated last row becomes a bad record."""
    n = 0
    try:
        for line, cells in rows:
            n += 1
            if n <= skip:
                continue
            yield layout.read(line, cells)
    except reading.TruncatedRow as exc:
        rec = layout.read(exc.line, [])
        rec.issues = [
            Issue(
                "row",
                Code.SHORT_ROW,
                _(
                    "the file ends in the middle of this row (a quote is not closed): the row is not imported"  # noqa: E501
                ),
            )
        ]
        yield rec


def process(
    import_id: int,
    *,
    dry_run: bool,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[Progress], None] | None = None,
    after_batch: Callable[[int], None] | None = None,
) -> Import:
    """Run a check or an import to its end (resuming an interrupted import); see module doc."""
    imp = Import.objects.get(pk=import_id)
    actor = actor_for(imp)
    if imp.started_at is None or dry_run:
        Import.objects.filter(pk=imp.pk).update(started_at=imp.started_at or timezone.now())
        imp.refresh_from_db()
    resume = imp.processed_rows if not dry_run and imp.counts else 0
    if dry_run:
        ImportIssue.objects.filter(import_run=imp, from_check=True).delete()
        Import.objects.filter(pk=imp.pk).update(
            check_counts={}, processed_rows=0, status=Status.CHECKING
        )
    elif resume == 0:
        Import.objects.filter(pk=imp.pk).update(counts={}, processed_rows=0, status=Status.RUNNING)
    else:
        Import.objects.filter(pk=imp.pk).update(status=Status.RUNNING)
    imp.refresh_from_db()
    handle, header, rows = reading.header_and_rows(Path(imp.file_path), imp.encoding, imp.delimiter)
    try:
        if imp.kind == Kind.SALES:
            from cueillette.imports.sale_import import SaleImporter

            layout: Any = layouts.sales_layout(imp.layout, header, imp.options)
            engine: Any = SaleImporter(imp, layout, actor, dry_run=dry_run)
            keys: tuple[str, ...] = SALES_COUNT_KEYS
        else:
            layout = layouts.customer_layout(imp.layout, header, imp.options)
            engine = CustomerImporter(imp, layout, actor, dry_run=dry_run)
            keys = COUNT_KEYS
        stored = ImportIssue.objects.filter(import_run=imp, from_check=dry_run).count()
        offset = resume
        if offset == 0:
            notes = [
                (
                    1,
                    Issue(
                        h,
                        Code.IGNORED_COLUMN,
                        _("column %(c)s is not used") % {"c": h},
                        error=False,
                    ),
                )
                for h in layout.ignored()
            ]
            if notes:
                with transaction.atomic():
                    stored += _store_issues(imp, notes, dry_run=dry_run, room=MAX_ISSUES - stored)
        records = _records(layout, rows, resume)
        batch_no = 0
        while True:
            batch = []
            for rec in records:
                batch.append(rec)
                if len(batch) >= batch_size:
                    break
            if not batch:
                break
            with transaction.atomic():
                locked = Import.objects.select_for_update().get(pk=imp.pk)
                if not dry_run and locked.processed_rows != offset:
                    return locked  # another worker is ahead: it owns this import
                result = engine.run(batch)
                stored += _store_issues(
                    locked, result.issues, dry_run=dry_run, room=MAX_ISSUES - stored
                )
                field_name = "check_counts" if dry_run else "counts"
                counts = dict(getattr(locked, field_name) or {})
                for k in keys:
                    counts[k] = int(counts.get(k, 0)) + int(result.counts.get(k, 0))
                offset += len(batch)
                setattr(locked, field_name, counts)
                locked.processed_rows = offset
                locked.total_estimate = max(locked.total_estimate, offset)
                locked.save(
                    update_fields=[field_name, "processed_rows", "total_estimate", "updated_at"]
                )
            batch_no += 1
            if on_progress:
                on_progress(Progress(offset, locked.total_estimate))
            if after_batch:
                after_batch(batch_no)
        with transaction.atomic():
            locked = Import.objects.select_for_update().get(pk=imp.pk)
            notes = [(1, n) for n in getattr(engine, "column_notes", lambda: [])()]
            _store_issues(locked, notes, dry_run=dry_run, room=MAX_ISSUES - stored)
            field_name = "check_counts" if dry_run else "counts"
            counts = dict(getattr(locked, field_name) or {})
            for k in keys:
                counts.setdefault(k, 0)
            setattr(locked, field_name, counts)
            locked.status = Status.CHECKED if dry_run else Status.DONE
            locked.total_estimate = locked.processed_rows
            if not dry_run:
                locked.finished_at = timezone.now()
            locked.save()
            audit.record(
                actor, "imports.check_finished" if dry_run else "imports.finished", locked, **counts
            )
        return locked
    except Exception as exc:
        Import.objects.filter(pk=imp.pk).update(status=Status.FAILED, error=str(exc)[:2000])
        raise
    finally:
        handle.close()


def resumable(org_kind: str, file_hash: str) -> Import | None:
    """An import of this file that was interrupted (killed, crashed): it continues from its
    offset."""
    return (
        Import.objects.filter(
            kind=org_kind, file_hash=file_hash, status__in=[Status.RUNNING, Status.FAILED]
        )
        .exclude(counts={})
        .order_by("-created_at")
        .first()
    )


def summary_line(imp: Import, *, dry_run: bool) -> str:
    counts = imp.check_counts if dry_run else imp.counts
    keys: tuple[str, ...]
    if imp.kind == Kind.SALES:
        keys = ("rows", "purchases", "refunds", "matched", "unmatched", "skipped", "bad")
    else:
        keys = (
            "rows",
            "created",
            "updated",
            "merged",
            "skipped",
            "bad",
            "consent_entries",
            "withdrawals",
            "suppressed",
        )
    return " ".join(f"{k}={int(counts.get(k, 0))}" for k in keys)


def since(imp: Import) -> dt.timedelta:
    return timezone.now() - (imp.started_at or imp.created_at)
