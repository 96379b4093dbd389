"""Import pages: upload, choices (mapping, consent basis), check, import, progress, report.

Views only translate: parse, ``access``, call one service, render. The work runs in a
django-tasks task; the page polls ``progress`` (our small JS) or refreshes itself (no JS).
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cueillette.core.audit import Actor
from cueillette.core.decorators import staff_actor, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access
from cueillette.customers.export import safe_cell
from cueillette.customers.models import Purpose
from cueillette.imports import layouts, services
from cueillette.imports.models import (
    ConsentBasis,
    Import,
    ImportIssue,
    Kind,
    Layout,
    Severity,
    Status,
)

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
ISSUES_SHOWN = 200


def _actor(request: HttpRequest) -> Actor:
    return staff_actor(request)


@staff_required(Perm.IMPORT_CUSTOMERS)
def index(request: HttpRequest) -> HttpResponse:
    """Past imports and the upload form (customers or sales history)."""
    context: dict[str, Any] = {
        "imports": Import.objects.order_by("-created_at")[:50],
        "kind": request.GET.get("kind", Kind.CUSTOMERS),
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    if request.method != "POST":
        return render(request, "imports/index.html", context)
    kind = request.POST.get("kind", Kind.CUSTOMERS)
    context["kind"] = kind
    upload = request.FILES.get("file")
    error = ""
    if kind not in Kind.values:
        error = _("choose what the file holds")
    elif upload is None:
        error = _("choose a CSV file")
    elif upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        error = _("the file is larger than %(n)d MB") % {"n": context["max_mb"]}
    if not error:
        assert upload is not None
        with tempfile.NamedTemporaryFile(suffix=".csv") as tmp:
            for chunk in upload.chunks():
                tmp.write(chunk)
            tmp.flush()
            try:
                imp = services.register_file(
                    Path(tmp.name),
                    filename=upload.name or "file.csv",
                    kind=kind,
                    actor=_actor(request),
                )
            except ServiceError as exc:
                error = exc.message.removeprefix("file: ")
            else:
                return redirect("imports:detail", pk=imp.pk)
    context["file_error"] = error
    return render(request, "imports/index.html", context, status=400)


def _choices_context(
    imp: Import, posted: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> dict[str, Any]:
    header, sample = services.preview_of(imp)
    columns = []
    mapping = imp.options.get("mapping") or {}
    for i, h in enumerate(header):
        columns.append(
            {
                "index": i,
                "name": h,
                "samples": [row[i] for row in sample if i < len(row) and row[i].strip()][:3],
                "field": (posted or {}).get(f"map_{i}", mapping.get(h, "")),
            }
        )
    basis = dict(imp.options.get("consent_basis") or {})
    consent = [
        {
            "index": i,
            "column": c,
            "purpose": Purpose(p).label,
            "label": _consent_label(imp, c),
            "basis": (posted or {}).get(f"basis_{i}", basis.get(c, "")),
            "error": (errors or {}).get(f"basis_{i}", ""),
        }
        for i, (c, p) in enumerate(services.consent_columns(imp))
    ]
    fields = layouts.SALE_FIELDS if imp.kind == Kind.SALES else layouts.CUSTOMER_FIELDS
    return {
        "header": header,
        "sample": sample,
        "columns": columns,
        "field_choices": list(fields.items()),
        "consent": consent,
        "bases": ConsentBasis.choices,
        "mappable": imp.layout == Layout.CSV,
        "mailchimp_status": imp.options.get("mailchimp_status", ""),
        "award_points": imp.options.get("award_points", False),
    }


def _consent_label(imp: Import, column: str) -> str:
    if column == "mailchimp_status":
        return _("Subscribed in Mailchimp")
    return column


def _counts_rows(imp: Import, counts: dict[str, int], dry: bool) -> list[tuple[str, int]]:
    if imp.kind == Kind.SALES:
        labels = [
            ("rows", _("rows read")), ("purchases", _("sales")), ("refunds", _("refunds")),
            ("matched", _("matched to a customer")), ("unmatched", _("anonymous (no customer found)")),  # noqa: E501
            ("skipped", _("already imported (skipped)")), ("bad", _("bad rows (not imported)")),
        ]  # fmt: skip
        if not dry and imp.options.get("award_points"):
            labels.append(("points_awarded", _("points awarded")))
    else:
        labels = [
            ("rows", _("rows read")),
            ("created", _("customers would be created") if dry else _("customers created")),
            (
                "updated",
                _("existing customers would be completed")
                if dry
                else _("existing customers completed"),
            ),
            ("merged", _("rows merged with another row (same email or phone)")),
            ("skipped", _("already in your base, nothing new (skipped)")),
            ("bad", _("bad rows (not imported)")),
            ("consent_entries", _("consent entries")),
            ("withdrawals", _("withdrawals (unsubscribed)")),
            ("suppressed", _("addresses never to email again (bounced)")),
        ]
    return [(label, int(counts.get(k, 0))) for k, label in labels]


@staff_required(Perm.IMPORT_CUSTOMERS)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One import: its choices (before it runs), its progress, its report."""
    imp = access(Import, pk)
    return _render_detail(request, imp)


def _render_detail(
    request: HttpRequest,
    imp: Import,
    *,
    posted: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {"imp": imp, "errors": errors or {}}
    if imp.status in (Status.DRAFT, Status.CHECKED, Status.FAILED):
        try:
            context.update(_choices_context(imp, posted, errors))
        except ServiceError as exc:
            context["errors"] = {**context["errors"], "form": exc.message}
    dry = imp.status in (Status.CHECKING, Status.CHECKED) or (
        imp.status == Status.FAILED and not imp.counts
    )
    counts = imp.check_counts if dry else imp.counts
    if counts:
        context["count_rows"] = _counts_rows(imp, counts, dry)
    issues = ImportIssue.objects.filter(import_run=imp, from_check=dry)
    context["dry"] = dry
    context["issues"] = list(issues.order_by("severity", "line", "id")[:ISSUES_SHOWN])
    context["issue_total"] = issues.count()
    context["errors_total"] = issues.filter(severity=Severity.ERROR).count()
    return render(request, "imports/detail.html", context, status=status)


@staff_required(Perm.IMPORT_CUSTOMERS)
@require_POST
def check(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the choices (mapping, consent basis, points) and queue the check (dry run)."""
    imp = access(Import, pk)
    if imp.status not in (Status.DRAFT, Status.CHECKED, Status.FAILED):
        messages.error(request, _("This import has already run: its choices can no longer change."))
        return redirect("imports:detail", pk=imp.pk)
    posted = request.POST.dict()
    try:
        header = services.header_of(imp)
    except ServiceError as exc:
        return _render_detail(request, imp, errors={"form": exc.message}, status=exc.status)
    errors: dict[str, str] = {}
    mapping = None
    if imp.layout == Layout.CSV:
        mapping = {h: request.POST.get(f"map_{i}", "") for i, h in enumerate(header)}
    basis: dict[str, str] = {}
    for i, (column, _purpose) in enumerate(services.consent_columns(imp)):
        value = request.POST.get(f"basis_{i}", "")
        if value not in ConsentBasis.values:
            errors[f"basis_{i}"] = _(
                "say how these people agreed (choose “no consent” if you do not know)"
            )
        basis[column] = value
    if errors:
        return _render_detail(request, imp, posted=posted, errors=errors, status=400)
    try:
        services.configure(
            imp,
            actor=_actor(request),
            mapping=mapping,
            consent_basis=basis if imp.kind == Kind.CUSTOMERS else None,
            award_points=request.POST.get("award_points") == "yes"
            if imp.kind == Kind.SALES
            else None,
            month_first=request.POST.get("month_first") == "yes"
            if imp.layout == Layout.CSV and imp.kind == Kind.CUSTOMERS
            else None,
        )
        services.start(imp, actor=_actor(request), dry_run=True)
    except ServiceError as exc:
        return _render_detail(
            request, imp, posted=posted, errors={exc.field or "form": exc.message}, status=400
        )
    return redirect("imports:detail", pk=imp.pk)


@staff_required(Perm.IMPORT_CUSTOMERS)
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the real import (after a check)."""
    imp = access(Import, pk)
    if imp.status not in (Status.CHECKED, Status.FAILED):
        messages.error(
            request, _("Check the file first: nothing is imported before you have seen the check.")
        )
        return redirect("imports:detail", pk=imp.pk)
    try:
        services.start(imp, actor=_actor(request), dry_run=False)
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("imports:detail", pk=imp.pk)


@staff_required(Perm.IMPORT_CUSTOMERS)
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    """What the page's progress bar polls."""
    imp = access(Import, pk)
    return JsonResponse(
        {
            "status": imp.status,
            "processed": imp.processed_rows,
            "total": imp.total_estimate,
            "percent": imp.percent,
            "running": imp.in_progress,
        }
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@staff_required(Perm.IMPORT_CUSTOMERS)
def issues_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """Every reported row of the last run, as a spreadsheet (formulas neutralised)."""
    imp = access(Import, pk)
    dry = request.GET.get("check") == "1"
    writer = csv.writer(_Echo(), delimiter=";")
    rows = ImportIssue.objects.filter(import_run=imp, from_check=dry).order_by("line", "id")

    def lines() -> Any:
        yield "\ufeff" + str(
            writer.writerow([_("line"), _("column"), _("severity"), _("code"), _("problem")])
        )
        for i in rows.iterator(chunk_size=2000):
            yield str(
                writer.writerow(
                    [
                        safe_cell(x)
                        for x in (i.line, i.field, i.get_severity_display(), i.code, i.message)
                    ]
                )
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{imp.pk}-rows.csv"'
    return cast(HttpResponse, response)
