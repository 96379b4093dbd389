"""The owner's feedback pages (owner and manager), mounted at /app/feedback/ ("feedback").

NPS by month and by segment, the comments, the detractors' follow-up list, the settings. They
only translate: parse, access, call one service or one read, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cueillette.core.audit import Actor
from cueillette.core.decorators import staff_actor, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access
from cueillette.feedback import queries, services
from cueillette.feedback.charts import NpsBar, nps_chart
from cueillette.feedback.forms import FOLLOW_UP_CHOICES, SettingsForm
from cueillette.feedback.models import CameFrom, Category, FollowUp, Survey
from cueillette.loyalty.models import Tier

PAGE_SIZE = 30


def _actor(request: HttpRequest) -> Actor:
    return staff_actor(request)


def _nps_text(value: int | None) -> str:
    if value is None:
        return "—"
    return f"+{value}" if value > 0 else str(value)


def _segment_chart(chart_id: str, title: str, rows: list[queries.SegmentNps]) -> dict[str, Any]:
    bars = [NpsBar(r.label, r.nps.score, _nps_text(r.nps.score)) for r in rows]
    return {
        "id": chart_id,
        "title": title,
        "svg": nps_chart(chart_id, title, bars),
        "rows": rows,
        "empty": not rows,
    }


@staff_required(Perm.VIEW_FEEDBACK)
def dashboard(request: HttpRequest) -> HttpResponse:
    months = queries.by_month(12)
    since = queries.since_months(12)
    year = queries.overall(since)
    month_bars = [
        NpsBar(
            formats.date_format(m.month, "YEAR_MONTH_FORMAT"), m.nps.score, _nps_text(m.nps.score)
        )
        for m in months
    ]
    month_title = _("NPS month by month (last 12 months)")
    context = {
        "section": "dashboard",
        "year": year,
        "year_text": _nps_text(year.score),
        "months": [(m, _nps_text(m.nps.score)) for m in months],
        "month_chart": nps_chart(
            "nps-months",
            month_title,
            month_bars,
            description=_("NPS of the answers received each month, from -100 to +100."),
        ),
        "month_title": month_title,
        "segments": [
            _segment_chart("nps-tier", _("NPS by tier"), queries.by_segment("tier", since)),
            _segment_chart(
                "nps-came-from",
                _("NPS by how customers came"),
                queries.by_segment("came_from", since),
            ),
        ],
        "follow_up_counts": queries.follow_up_counts(),
        "settings": services.get_settings(),
        "nps_text": _nps_text,
    }
    return render(request, "feedback/owner/dashboard.html", context)


CATEGORY_FILTERS = [
    ("", _("All")),
    (Category.PROMOTER.value, Category.PROMOTER.label),
    (Category.PASSIVE.value, Category.PASSIVE.label),
    (Category.DETRACTOR.value, Category.DETRACTOR.label),
]


def _with_labels(rows: Any) -> None:
    """Name each answer's segment (tier name, how the customer came) for the template."""
    tiers = {t.code: t.name for t in Tier.objects.all()}
    came = {str(k): str(v) for k, v in CameFrom.choices}
    for s in rows:
        s.tier_label = tiers.get(s.tier_code, s.tier_code)
        s.came_from_label = came.get(s.came_from, s.came_from) if s.came_from else ""


@staff_required(Perm.VIEW_FEEDBACK)
def comments(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "")
    if category not in Category.values:
        category = ""
    page = Paginator(queries.comments(category or None), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "section": "comments",
        "category": category,
        "filters": CATEGORY_FILTERS,
        "page": page,
    }
    _with_labels(page.object_list)
    return render(request, "feedback/owner/comments.html", context)


STATUS_FILTERS = [
    ("", _("All")),
    (FollowUp.TO_CONTACT.value, FollowUp.TO_CONTACT.label),
    (FollowUp.CONTACTED.value, FollowUp.CONTACTED.label),
    (FollowUp.RESOLVED.value, FollowUp.RESOLVED.label),
]


@staff_required(Perm.VIEW_FEEDBACK)
def follow_up(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", FollowUp.TO_CONTACT.value)
    if status not in (s for s, _label in STATUS_FILTERS):
        status = ""
    page = Paginator(queries.follow_ups(status or None), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "section": "follow_up",
        "status": status,
        "filters": STATUS_FILTERS,
        "choices": FOLLOW_UP_CHOICES,
        "page": page,
        "counts": queries.follow_up_counts(),
    }
    _with_labels(page.object_list)
    return render(request, "feedback/owner/follow_up.html", context)


@staff_required(Perm.MANAGE_FEEDBACK)
@require_POST
def follow_up_update(request: HttpRequest, pk: int) -> HttpResponse:
    survey = access(Survey, pk, answered_at__isnull=False)
    back = request.POST.get("back_status", "")
    try:
        services.update_follow_up(
            survey,
            status=request.POST.get("status"),
            note=request.POST.get("note"),
            actor=_actor(request),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The follow-up was saved."))
    url = "feedback:follow_up"
    response = redirect(url)
    if back in (s for s, _label in STATUS_FILTERS):
        response["Location"] += f"?status={back}#survey-{survey.pk}"
    return response


@staff_required(Perm.MANAGE_FEEDBACK)
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    row = services.get_settings()
    status = 200
    if request.method == "POST":
        form = SettingsForm(request.POST)
        form.is_valid()  # lenient fields: the service validates
        try:
            services.update_settings(form.service_data(), actor=_actor(request))
        except ServiceError as exc:
            form.add_service_errors(exc)
            status = 400
        else:
            messages.success(request, _("The survey settings were saved."))
            return redirect("feedback:settings")
    else:
        form = SettingsForm.for_settings(row)
    return render(
        request,
        "feedback/owner/settings.html",
        {"section": "settings", "form": form, "row": row},
        status=status,
    )
