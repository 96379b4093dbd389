"""Owner and manager pages of insights, at /app/insights/ (namespace "insights").

They only translate: parse, access, call one service or one read, render.
"""

from __future__ import annotations

import csv
import math
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cueillette.core.audit import Actor
from cueillette.core.decorators import request_can, staff_actor, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access, current_org
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer
from cueillette.insights import charts, engine, queries, services
from cueillette.insights.forms import AttachForm, ChangeForm, NoteForm, ReasonForm, SettingsForm
from cueillette.insights.labels import SEGMENT_HELP, SEGMENT_LABELS
from cueillette.insights.models import BusinessChange, ContactNote, ExitSurvey, LeaveReason
from cueillette.insights.rfm import Segment
from cueillette.web.charts import Bar, bar_chart

PAGE_SIZE = 50


def _actor(request: HttpRequest) -> Actor:
    return staff_actor(request)


def _lang() -> str:
    return (get_language() or "fr")[:2]


def money(value: Decimal | float | None) -> str:
    """An amount in the organization's currency, or a dash (never NaN)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return str(format_currency(Decimal(value), current_org().currency, locale=_lang()))


def pct(value: float | None) -> str:
    v = engine.clean(value)
    return "—" if v is None else f"{formats.number_format(round(100 * v), 0)} %"


def num(value: float | None, digits: int = 1) -> str:
    v = engine.clean(value)
    return "—" if v is None else str(formats.number_format(round(v, digits), digits))


def _common(request: HttpRequest, section: str) -> dict[str, Any]:
    st = queries.state()
    return {
        "section": section,
        "state": st,
        "can_manage": request_can(request, Perm.MANAGE_INSIGHTS),
        "settings_row": queries.settings_row(),
    }


# --------------------------------------------------------------------------- segments


@staff_required(Perm.VIEW_INSIGHTS)
def overview(request: HttpRequest) -> HttpResponse:
    rows = queries.segment_summary()
    total = sum(r.customers for r in rows)
    segments = [
        {
            "code": r.segment.value,
            "label": SEGMENT_LABELS[r.segment],
            "help": SEGMENT_HELP[r.segment],
            "customers": r.customers,
            "share": pct(r.customers / total) if total else "—",
            "revenue": money(r.revenue),
            "monthly": money(r.monthly_value),
        }
        for r in rows
    ]
    grid = queries.grid()
    for line in grid:
        for cell in line:
            cell["label"] = SEGMENT_LABELS[cell["segment"]]
    return render(
        request,
        "insights/overview.html",
        {**_common(request, "segments"), "segments": segments, "grid": grid, "total": total},
    )


def _segment(code: str) -> Segment:
    try:
        return Segment(code)
    except ValueError as exc:
        raise Http404 from exc


def _score_row(s: Any) -> dict[str, Any]:
    return {
        "s": s,
        "customer": s.customer,
        "monthly": money(s.monthly_value),
        "total": money(s.total_spend),
        "p_alive": pct(s.p_alive) if s.purchases > 1 else "—",
        "spend_12m": money(s.spend_12m),
        "stake": money(s.value_at_stake),
        "gap": num(s.usual_gap_days, 0),
    }


@staff_required(Perm.VIEW_INSIGHTS)
def segment(request: HttpRequest, code: str) -> HttpResponse:
    seg = _segment(code)
    qs = queries.segment_customers(seg.value)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    contactable = len(queries.contactable_scores(qs))
    return render(
        request,
        "insights/segment.html",
        {
            **_common(request, "segments"),
            "seg": seg.value,
            "label": SEGMENT_LABELS[seg],
            "help": SEGMENT_HELP[seg],
            "page": page,
            "rows": [_score_row(s) for s in page.object_list],
            "contactable": contactable,
            "can_message": request_can(request, Perm.SEND_CAMPAIGNS),
        },
    )


@staff_required(Perm.VIEW_INSIGHTS)
def call_list(request: HttpRequest, code: str) -> HttpResponse:
    """A printable list of the segment's customers who agreed to hear from the business."""
    seg = _segment(code)
    rows = queries.contactable_scores(queries.segment_customers(seg.value))
    return render(
        request,
        "insights/call_list.html",
        {
            **_common(request, "segments"),
            "seg": seg.value,
            "label": SEGMENT_LABELS[seg],
            "rows": [_score_row(s) for s in rows],
            "printed_at": timezone.now(),
        },
    )


@staff_required(Perm.VIEW_INSIGHTS)
def contacts_csv(request: HttpRequest, code: str) -> HttpResponse:
    """The segment's contactable customers as CSV (consent filtered; the export is logged)."""
    seg = _segment(code)
    rows = queries.contactable_scores(queries.segment_customers(seg.value))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="segment-{seg.value}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "customer_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "segment",
            "last_purchase",
            "monthly_value",
            "p_alive",
        ]
    )
    for s in rows:
        c = s.customer
        alive = engine.clean(s.p_alive)
        writer.writerow(
            [
                c.pk,
                c.first_name,
                c.last_name,
                getattr(s, "contact_email", ""),
                getattr(s, "contact_phone", ""),
                seg.value,
                s.last_purchase_at.date().isoformat(),
                f"{s.monthly_value:.2f}",
                "" if alive is None or s.purchases <= 1 else f"{alive:.3f}",
            ]
        )
    customer_services.log_export(_actor(request), rows=len(rows), kind=f"insights_{seg.value}")
    return response


# --------------------------------------------------------------------------- at risk


@staff_required(Perm.VIEW_INSIGHTS)
def at_risk(request: HttpRequest) -> HttpResponse:
    ctx = _common(request, "at_risk")
    shown = ctx["state"].shown
    modelled = shown is not None and shown.status == "ok"
    qs = queries.at_risk() if modelled else queries.lapsed_by_value()
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "insights/at_risk.html",
        {
            **ctx,
            "page": page,
            "rows": [_score_row(s) for s in page.object_list],
            "modelled": modelled,
        },
    )


# --------------------------------------------------------------------------- the model


def _fit_rows(fit: dict[str, Any], names: tuple[str, ...]) -> list[dict[str, str]]:
    params = fit.get("params") or {}
    errors = fit.get("std_errors") or {}
    return [{"name": n, "value": num(params.get(n), 3), "se": num(errors.get(n), 3)} for n in names]


@staff_required(Perm.VIEW_INSIGHTS)
def model(request: HttpRequest) -> HttpResponse:
    from cueillette.insights import fitting

    ctx = _common(request, "model")
    run = ctx["state"].shown
    holdout = (run.holdout if run else {}) or {}
    chart = None
    table: list[dict[str, Any]] = []
    if holdout.get("status") == "ok":
        pairs = []
        for row in holdout["rows"]:
            label = (
                _("%(n)d+ before") % {"n": row["group"]}
                if row["group"] >= engine.HOLDOUT_GROUPS
                else ngettext("%(n)d purchase", "%(n)d purchases", row["group"])
                % {"n": row["group"]}
            )
            pairs.append(
                charts.Pair(
                    label,
                    row["predicted"] or 0,
                    row["actual"] or 0,
                    num(row["predicted"], 2),
                    num(row["actual"], 2),
                )
            )
            table.append(
                {
                    "label": label,
                    "customers": row["customers"],
                    "predicted": num(row["predicted"], 2),
                    "actual": num(row["actual"], 2),
                }
            )
        chart = charts.paired_bars(
            "chart-holdout",
            _("Purchases in the kept-out weeks: forecast and reality"),
            pairs,
            description=_(
                "For customers grouped by their repeat purchases before the kept-out weeks, "
                "the mean number of purchases the model forecast for those weeks and the mean "
                "they really made."
            ),
            first_name=_("Forecast"),
            second_name=_("Actual"),
        )
    return render(
        request,
        "insights/model.html",
        {
            **ctx,
            "run": run,
            "bg": _fit_rows(run.bgnbd, fitting.BGNBD_PARAMS) if run and run.bgnbd else [],
            "gg": _fit_rows(run.gammagamma, fitting.GAMMAGAMMA_PARAMS)
            if run and run.gammagamma
            else [],
            "bg_ll": num((run.bgnbd or {}).get("log_likelihood"), 1) if run else "—",
            "gg_ll": num((run.gammagamma or {}).get("log_likelihood"), 1) if run else "—",
            "holdout": holdout,
            "holdout_chart": chart,
            "holdout_table": table,
            "holdout_pred": num(holdout.get("predicted_total"), 0),
            "holdout_actual": num(holdout.get("actual_total"), 0),
            "holdout_error": num(holdout.get("error_pct"), 1),
            "runs": list(queries.latest_runs()),
        },
    )


@require_POST
@staff_required(Perm.MANAGE_INSIGHTS)
def refresh(request: HttpRequest) -> HttpResponse:
    done = services.refresh(actor=_actor(request))
    if done.run.status == "failed":
        messages.error(
            request,
            _("The refresh failed: %(why)s. The figures shown are the previous ones.")
            % {"why": done.run.message},
        )
    elif done.run.status == "not_enough":
        messages.warning(request, _("Segments refreshed. %(why)s") % {"why": done.run.message})
    else:
        messages.success(request, _("The figures were refreshed."))
    back = request.POST.get("next") or ""
    return redirect(back if back in _BACK else "insights:overview")


_BACK = {"insights:overview", "insights:model", "insights:at_risk", "insights:lost"}


# --------------------------------------------------------------------------- lost revenue


@staff_required(Perm.VIEW_INSIGHTS)
def lost(request: HttpRequest) -> HttpResponse:
    groups = queries.lost_revenue(_lang())
    total = sum((g.monthly for g in groups), Decimal(0))
    rows = [
        {
            "g": g,
            "label": g.label or _("No reason recorded yet"),
            "monthly": money(g.monthly),
            "yearly": money(g.monthly * 12),
            "customers": g.customers[:20],
            "more": max(0, g.count - 20),
        }
        for g in groups
    ]
    bars = [
        Bar(
            label=str(g.label or _("No reason recorded yet")),
            value=g.monthly,
            text=money(g.monthly),
        )
        for g in groups
    ]
    chart = bar_chart(
        "chart-lost",
        _("Monthly revenue of lapsed customers, by reason"),
        bars,
        description=_("What the customers who stopped coming used to spend in a month."),
        color="#8a4b14",
    )
    return render(
        request,
        "insights/lost.html",
        {
            **_common(request, "lost"),
            "rows": rows,
            "total": money(total),
            "total_count": sum(g.count for g in groups),
            "chart": chart if rows else None,
            "changes": list(BusinessChange.objects.select_related("reason")[:20]),
        },
    )


# --------------------------------------------------------------------------- changes


def _changes_page(request: HttpRequest, form: ChangeForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "insights/changes.html",
        {
            **_common(request, "changes"),
            "form": form,
            "changes": list(BusinessChange.objects.select_related("reason")),
        },
        status=status,
    )


@staff_required(Perm.VIEW_INSIGHTS)
def changes(request: HttpRequest) -> HttpResponse:
    services.reasons()
    if request.method == "POST":
        if not request_can(request, Perm.MANAGE_INSIGHTS):
            return HttpResponse(status=403)
        form = ChangeForm(request.POST)
        if not form.is_valid():
            return _changes_page(request, form, 400)
        try:
            change = services.save_change(
                services.ChangeInput(**form.cleaned_data), actor=_actor(request)
            )
        except ServiceError as exc:
            form.add_service_error(exc)
            return _changes_page(request, form, 400)
        messages.success(request, _("The change is on the timeline."))
        return redirect("insights:change", pk=change.pk)
    return _changes_page(request, ChangeForm())


def _change_page(
    request: HttpRequest,
    change: BusinessChange,
    form: ChangeForm | None = None,
    status: int = 200,
    link_error: str = "",
) -> HttpResponse:
    months = queries.monthly_revenue()
    window, before, after = queries.around(months, change.occurred_on)
    change_month = change.occurred_on.replace(day=1)
    bars = [
        Bar(
            label=("▸ " if m == change_month else "") + formats.date_format(m, "YEAR_MONTH_FORMAT"),
            value=revenue,
            text=money(revenue),
        )
        for m, revenue, _n in window
    ]
    stopped = queries.stopped_around(change)
    linked = set(change.attachments.values_list("customer_id", flat=True))
    latest = queries.latest_attachments([s.customer_id for s in stopped])
    candidates = [
        {
            **_score_row(s),
            "linked": s.customer_id in linked
            and latest.get(s.customer_id) is not None
            and latest[s.customer_id].change_id == change.pk,
        }
        for s in stopped
    ]
    monthly_stopped = sum((s.monthly_value for s in stopped), Decimal(0))
    return render(
        request,
        "insights/change.html",
        {
            **_common(request, "changes"),
            "change": change,
            "form": form or ChangeForm.for_change(change),
            "chart": bar_chart(
                "chart-trend",
                _("Monthly revenue around the change"),
                bars,
                description=_(
                    "Net revenue by month, six months either side; ▸ marks the month of the change."
                ),
            )
            if bars
            else None,
            "trend": [(m, money(r), n, m == change_month) for m, r, n in window],
            "before": money(before),
            "after": money(after),
            "diff": money(after - before) if before is not None and after is not None else "—",
            "candidates": candidates,
            "monthly_stopped": money(monthly_stopped),
            "link_error": link_error,
        },
        status=status,
    )


@staff_required(Perm.VIEW_INSIGHTS)
def change(request: HttpRequest, pk: int) -> HttpResponse:
    row = access(BusinessChange, pk)
    if request.method == "POST":
        if not request_can(request, Perm.MANAGE_INSIGHTS):
            return HttpResponse(status=403)
        form = ChangeForm(request.POST)
        if not form.is_valid():
            return _change_page(request, row, form, 400)
        try:
            services.save_change(
                services.ChangeInput(**form.cleaned_data), actor=_actor(request), change=row
            )
        except ServiceError as exc:
            form.add_service_error(exc)
            return _change_page(request, row, form, 400)
        messages.success(request, _("The change was saved."))
        return redirect("insights:change", pk=row.pk)
    return _change_page(request, row)


@require_POST
@staff_required(Perm.MANAGE_INSIGHTS)
def link_change(request: HttpRequest, pk: int) -> HttpResponse:
    row = access(BusinessChange, pk)
    if request.POST.get("all") == "1":
        ids = [s.customer_id for s in queries.stopped_around(row)]
    else:
        ids = [int(v) for v in request.POST.getlist("customers") if v.isdigit()]
    try:
        count = services.link_change(row, ids, actor=_actor(request))
    except ServiceError as exc:
        return _change_page(request, row, status=400, link_error=exc.message)
    messages.success(
        request,
        ngettext(
            "%(n)d customer is now linked to this change.",
            "%(n)d customers are now linked to this change.",
            count,
        )
        % {"n": count},
    )
    return redirect("insights:change", pk=row.pk)


# --------------------------------------------------------------------------- cohorts


@staff_required(Perm.VIEW_INSIGHTS)
def cohorts(request: HttpRequest) -> HttpResponse:
    data = queries.cohorts()
    width = max((len(r) for r in data.retention), default=0)
    width = min(width, 13)
    lines = []
    for i, month in enumerate(data.months):
        cells = [{"value": pct(v), "cls": charts.heat_class(v)} for v in data.retention[i][:width]]
        cells += [{"value": "", "cls": "heat-none"}] * (width - len(cells))
        lines.append(
            {
                "month": queries.month_date(month),
                "size": data.size[i],
                "revenue": money(Decimal(repr(data.revenue[i])).quantize(Decimal("0.01"))),
                "cells": cells,
            }
        )
    revenue_chart = (
        bar_chart(
            "chart-cohort-revenue",
            _("Revenue brought by each cohort"),
            [
                Bar(
                    label=formats.date_format(queries.month_date(m), "YEAR_MONTH_FORMAT"),
                    value=Decimal(repr(data.revenue[i])).quantize(Decimal("1")),
                    text=money(Decimal(repr(data.revenue[i])).quantize(Decimal("0.01"))),
                )
                for i, m in enumerate(data.months)
            ],
            description=_(
                "Net revenue, every month so far, of the customers whose first purchase fell "
                "in that month."
            ),
        )
        if data.months
        else None
    )
    returning = [(queries.month_date(m), share) for m, share in data.returning_share][-24:]
    returning_chart = (
        bar_chart(
            "chart-returning",
            _("Share of revenue from returning customers"),
            [
                Bar(
                    label=formats.date_format(m, "YEAR_MONTH_FORMAT"),
                    value=round(100 * (share or 0)),
                    text=pct(share),
                )
                for m, share in returning
            ],
            description=_(
                "Of each month's revenue, the part paid by customers who had already bought "
                "in an earlier month."
            ),
        )
        if returning
        else None
    )
    return render(
        request,
        "insights/cohorts.html",
        {
            **_common(request, "cohorts"),
            "lines": lines[-24:],
            "offsets": list(range(width)),
            "revenue_chart": revenue_chart,
            "returning_chart": returning_chart,
            "returning": [(m, pct(s)) for m, s in returning],
        },
    )


# --------------------------------------------------------------------------- reasons & settings


def _reasons_page(
    request: HttpRequest,
    *,
    settings_form: SettingsForm | None = None,
    add_form: ReasonForm | None = None,
    edit_errors: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    row = services.get_settings()
    return render(
        request,
        "insights/reasons.html",
        {
            **_common(request, "reasons"),
            "settings_form": settings_form
            or SettingsForm(
                initial={
                    "lapse_factor": formats.number_format(row.lapse_factor, 1),
                    "holdout_weeks": row.holdout_weeks,
                    "change_window_weeks": row.change_window_weeks,
                }
            ),
            "add_form": add_form or ReasonForm(prefix="new"),
            "reasons": services.reasons(),
            "edit_errors": edit_errors or {},
        },
        status=status,
    )


@staff_required(Perm.MANAGE_INSIGHTS)
def reasons(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _reasons_page(request)
    what = request.POST.get("form", "")
    if what == "settings":
        form = SettingsForm(request.POST)
        if form.is_valid():
            try:
                services.update_settings(
                    services.SettingsInput(**form.cleaned_data), actor=_actor(request)
                )
            except ServiceError as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("Saved. The next refresh uses these settings."))
                return redirect("insights:reasons")
        return _reasons_page(request, settings_form=form, status=400)
    add = ReasonForm(request.POST, prefix="new")
    if add.is_valid():
        try:
            services.save_reason(services.ReasonInput(**add.cleaned_data), actor=_actor(request))
        except ServiceError as exc:
            add.add_service_error(exc)
        else:
            messages.success(request, _("The reason was added."))
            return redirect("insights:reasons")
    return _reasons_page(request, add_form=add, status=400)


@require_POST
@staff_required(Perm.MANAGE_INSIGHTS)
def reason_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reason = access(LeaveReason, pk)
    form = ReasonForm(request.POST, prefix=f"r{reason.pk}")
    if form.is_valid():
        try:
            services.save_reason(
                services.ReasonInput(**form.cleaned_data), actor=_actor(request), reason=reason
            )
        except ServiceError as exc:
            return _reasons_page(request, edit_errors={reason.pk: exc.message}, status=400)
        messages.success(request, _("The reason was saved."))
        return redirect("insights:reasons")
    return _reasons_page(request, edit_errors={reason.pk: _("Check the labels.")}, status=400)


# --------------------------------------------------------------------------- one customer


def _customer_page(
    request: HttpRequest,
    customer: Customer,
    *,
    attach: AttachForm | None = None,
    note: NoteForm | None = None,
    survey_error: str = "",
    status: int = 200,
) -> HttpResponse:
    score = queries.score_for(customer)
    return render(
        request,
        "insights/customer.html",
        {
            **_common(request, "at_risk"),
            "customer": customer,
            "score": score,
            "explain": explain(score) if score else None,
            "attach": attach or AttachForm(),
            "note": note or NoteForm(),
            "history": queries.history_for(customer),
            "notes": list(
                ContactNote.objects.filter(customer=customer).select_related("author")[:20]
            ),
            "surveys": list(ExitSurvey.objects.filter(customer=customer)[:5]),
            "may_survey": bool(customer.email)
            and services.current_feedback_consent(customer) is not None,
            "survey_error": survey_error,
        },
        status=status,
    )


@staff_required(Perm.MANAGE_INSIGHTS)
def customer(request: HttpRequest, pk: int) -> HttpResponse:
    return _customer_page(request, access(Customer, pk))


@require_POST
@staff_required(Perm.MANAGE_INSIGHTS)
def customer_reason(request: HttpRequest, pk: int) -> HttpResponse:
    c = access(Customer, pk)
    if request.POST.get("clear") == "1":
        try:
            services.clear_reason(c, actor=_actor(request))
        except ServiceError as exc:
            messages.error(request, exc.message)
        return redirect("insights:customer", pk=c.pk)
    form = AttachForm(request.POST)
    if not form.is_valid():
        return _customer_page(request, c, attach=form, status=400)
    try:
        services.attach_reason(
            c,
            actor=_actor(request),
            reason=form.cleaned_data["reason"],
            change=form.cleaned_data["change"],
            comment=form.cleaned_data["comment"] or "",
        )
    except ServiceError as exc:
        form.add_service_error(exc)
        return _customer_page(request, c, attach=form, status=400)
    messages.success(request, _("The reason was recorded."))
    return redirect("insights:customer", pk=c.pk)


@require_POST
@staff_required(Perm.MANAGE_INSIGHTS)
def customer_note(request: HttpRequest, pk: int) -> HttpResponse:
    c = access(Customer, pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _customer_page(request, c, note=form, status=400)
    try:
        services.add_note(c, form.cleaned_data["text"], actor=_actor(request))
    except ServiceError as exc:
        form.add_service_error(exc)
        return _customer_page(request, c, note=form, status=400)
    messages.success(request, _("The note was added."))
    return redirect("insights:customer", pk=c.pk)


@require_POST
@staff_required(Perm.MANAGE_INSIGHTS)
def customer_survey(request: HttpRequest, pk: int) -> HttpResponse:
    c = access(Customer, pk)
    try:
        services.send_exit_survey(c, actor=_actor(request))
    except ServiceError as exc:
        return _customer_page(request, c, survey_error=exc.message, status=exc.status)
    messages.success(request, _("The question was emailed."))
    return redirect("insights:customer", pk=c.pk)


def explain(score: Any) -> str:
    """The sentence under "probably still active: 82 %": what the figure rests on."""
    days = max(0, (timezone.now() - score.last_purchase_at).days)
    gap = max(1, round(score.usual_gap_days))
    if score.purchases <= 1:
        return _(
            "One purchase so far, %(days)d days ago: too little to tell how often they come. "
            "The figures will appear after a second purchase."
        ) % {"days": days}
    if score.p_alive is None:
        return _(
            "%(n)d purchases, about one every %(gap)d days; the last %(days)d days ago. The "
            "business does not have enough history yet for the forecast."
        ) % {"n": score.purchases, "gap": gap, "days": days}
    return _(
        "%(n)d purchases, about one every %(gap)d days; the last one %(days)d days ago. "
        "Customers who buy this way and have been away this long are still customers "
        "%(p)s of the time, according to the model fitted on this business's purchases."
    ) % {"n": score.purchases, "gap": gap, "days": days, "p": pct(score.p_alive)}
