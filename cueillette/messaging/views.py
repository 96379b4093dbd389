"""The staff's messaging pages at /app/messages/ ("messaging"): campaigns with their audience
and exclusions, segments, automatic messages, pressure settings, suppressions. They only
translate: parse, access, call one service or one read, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cueillette.core.decorators import staff_actor, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.forms import apply_service_error
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access, current_org
from cueillette.messaging import audience, automatic, gate, queries, services
from cueillette.messaging import render as body
from cueillette.messaging.forms import (
    AutomaticForm,
    CampaignForm,
    PressureForm,
    ScheduleForm,
    SegmentForm,
)
from cueillette.messaging.models import Campaign, Reason, Segment, Suppression


def _who(request: HttpRequest) -> services.Staff:
    membership = request.membership  # type: ignore[attr-defined]
    return services.Staff(actor=staff_actor(request), role=membership.role)


REASON_ORDER = [
    Reason.NO_CONSENT,
    Reason.UNSUBSCRIBED,
    Reason.CAPPED,
    Reason.PAUSED,
    Reason.BOUNCED,
    Reason.SUPPRESSED,
    Reason.NO_ADDRESS,
    Reason.HELD_BACK,
]


def _audience_rows(result: audience.Audience) -> list[dict[str, Any]]:
    return [
        {"reason": r, "label": Reason(r).label, "count": result.reasons.get(r, 0)}
        for r in REASON_ORDER
    ]


# --------------------------------------------------------------------------- campaigns


@staff_required(Perm.SEND_CAMPAIGNS)
def campaigns(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "messaging/campaigns.html",
        {"campaigns": queries.campaigns(), "section": "campaigns"},
    )


def _input(form: CampaignForm) -> services.CampaignInput:
    d = form.cleaned_data
    return services.CampaignInput(
        name=d["name"],
        subject_fr=d["subject_fr"],
        body_fr=d["body_fr"],
        subject_en=d["subject_en"],
        body_en=d["body_en"],
        segment_id=d["segment"].pk if d["segment"] else None,
        holdout_percent=d["holdout_percent"] or 0,
        results_days=d["results_days"] or 14,
    )


def _editor(
    request: HttpRequest, form: CampaignForm, campaign: Campaign | None, status: int = 200
) -> HttpResponse:
    result = None
    if campaign is not None and campaign.segment is not None:
        result = audience.decide_audience(campaign)
    fr = campaign.body_fr if campaign else ""
    return render(
        request,
        "messaging/campaign_edit.html",
        {
            "form": form,
            "campaign": campaign,
            "audience": result,
            "audience_rows": _audience_rows(result) if result else [],
            "schedule_form": ScheduleForm(),
            "preview_html": body.to_html(fr) if fr else "",
            "org_tz": current_org().timezone,
            "section": "campaigns",
        },
        status=status,
    )


@staff_required(Perm.SEND_CAMPAIGNS)
def campaign_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = CampaignForm(request.POST)
        if form.is_valid():
            try:
                campaign = services.save_campaign(_who(request), _input(form))
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Draft saved."))
                return redirect("messaging:campaign", pk=campaign.pk)
        return _editor(request, form, None, status=400)
    return _editor(request, CampaignForm(initial={"holdout_percent": 0, "results_days": 14}), None)


def _initial(c: Campaign) -> dict[str, Any]:
    return {
        "name": c.name,
        "segment": c.segment_id,
        "subject_fr": c.subject_fr,
        "body_fr": c.body_fr,
        "subject_en": c.subject_en,
        "body_en": c.body_en,
        "holdout_percent": c.holdout_percent,
        "results_days": c.results_days,
    }


@staff_required(Perm.SEND_CAMPAIGNS)
def campaign(request: HttpRequest, pk: int) -> HttpResponse:
    c = access(Campaign, pk)
    if not c.editable:
        return render(
            request,
            "messaging/campaign_report.html",
            {
                "campaign": c,
                "counts": queries.campaign_counts(c),
                "results": queries.results(c),
                "reasons": {r.value: r.label for r in Reason},
                "section": "campaigns",
            },
        )
    if request.method == "POST":
        form = CampaignForm(request.POST)
        if form.is_valid():
            try:
                services.save_campaign(_who(request), _input(form), campaign=c)
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Draft saved."))
                return redirect("messaging:campaign", pk=c.pk)
        return _editor(request, form, c, status=400)
    return _editor(request, CampaignForm(initial=_initial(c)), c)


@require_POST
@staff_required(Perm.SEND_CAMPAIGNS)
def campaign_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    c = access(Campaign, pk)
    who = _who(request)
    try:
        if action == "test":
            sent = services.test_send(who, c)
            messages.success(
                request,
                _("Test sent to %(email)s (%(n)d version(s)).")
                % {"email": who.actor.user.email if who.actor.user else "", "n": len(sent)},
            )
        elif action == "send":
            services.send_campaign(who, c)
            messages.success(request, _("Sending has started."))
        elif action == "schedule":
            form = ScheduleForm(request.POST)
            if not form.is_valid():
                raise ServiceError("invalid", _("choose a date and a time"), field="scheduled_at")
            when = form.cleaned_data["scheduled_at"]
            if timezone.is_naive(when):
                when = timezone.make_aware(when, current_org().tz)
            services.send_campaign(who, c, when=when)
            local = when.astimezone(current_org().tz)
            messages.success(
                request,
                _("Scheduled for %(when)s (%(tz)s).")
                % {"when": local.strftime("%d/%m/%Y %H:%M"), "tz": current_org().timezone},
            )
        elif action == "cancel":
            services.cancel_campaign(who, c)
            messages.success(request, _("The campaign is no longer scheduled."))
        else:
            raise ServiceError("invalid", _("unknown action"))
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("messaging:campaign", pk=c.pk)


@require_POST
@staff_required(Perm.SEND_CAMPAIGNS)
def preview(request: HttpRequest) -> HttpResponse:
    """The body as customers will see it (sanitised HTML), or the error that would refuse it."""
    text = request.POST.get("body", "")[:20000]
    try:
        body.check_body(text)
    except ServiceError as exc:
        return render(request, "messaging/_preview_error.html", {"error": exc.message}, status=400)
    return HttpResponse(body.to_html(text))


# --------------------------------------------------------------------------- segments


def _segment_initial(s: Segment) -> dict[str, Any]:
    f = s.filters
    return {
        "name": s.name,
        **{k: f.get(k) for k in services.SEGMENT_KEYS},
        "tags": ", ".join(f.get("tags") or []),
        "tiers": ", ".join(f.get("tiers") or []),
        "rfm": list(f.get("rfm") or []),
    }


def _segment_from_link(request: HttpRequest) -> dict[str, Any] | None:
    """A new segment opened from another page (the insight segments: ``?rfm=at_risk``)."""
    rfm = [v for v in request.GET.getlist("rfm") if v]
    if not rfm:
        return None
    return {"name": request.GET.get("name", "")[:100], "rfm": rfm}


@staff_required(Perm.SEND_CAMPAIGNS)
def segments(request: HttpRequest) -> HttpResponse:
    rows = [
        {"segment": s, "count": audience.segment_queryset(s.filters).count()}
        for s in Segment.objects.all()
    ]
    return render(request, "messaging/segments.html", {"rows": rows, "section": "segments"})


@staff_required(Perm.SEND_CAMPAIGNS)
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    seg = access(Segment, pk) if pk is not None else None
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                seg = services.save_segment(
                    _who(request),
                    name=data["name"],
                    filters=services.SegmentFilters(
                        **{k: data.get(k) for k in services.SEGMENT_KEYS}
                    ),
                    segment=seg,
                )
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Segment saved."))
                return redirect("messaging:segments")
        status = 400
    else:
        form = SegmentForm(initial=_segment_initial(seg) if seg else _segment_from_link(request))
        status = 200
    count = audience.segment_queryset(seg.filters).count() if seg else None
    return render(
        request,
        "messaging/segment_edit.html",
        {"form": form, "segment": seg, "count": count, "section": "segments"},
        status=status,
    )


# --------------------------------------------------------------------------- settings


@staff_required(Perm.MANAGE_MESSAGES)
def automatic_list(request: HttpRequest) -> HttpResponse:
    kinds = list(automatic.KINDS.values())
    saved = None
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        form = AutomaticForm(request.POST)
        if form.is_valid():
            try:
                services.update_automatic(
                    _who(request), kind, services.AutomaticInput(**form.cleaned_data)
                )
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Saved."))
                return redirect(f"{request.path}#auto-{kind}")
        saved = kind
    rows = []
    for k in kinds:
        row = automatic.setting(k.code)
        rows.append(
            {
                "kind": k,
                "row": row,
                "class_label": k.klass,
                "form": AutomaticForm(
                    request.POST if saved == k.code else None,
                    initial={
                        "enabled": row.enabled,
                        "subject_fr": row.subject_fr,
                        "body_fr": row.body_fr,
                        "subject_en": row.subject_en,
                        "body_en": row.body_en,
                        "weeks": row.weeks,
                    },
                    prefix=None,
                    auto_id=f"id_{k.code}_%s",
                ),
            }
        )
    return render(request, "messaging/automatic.html", {"rows": rows, "section": "automatic"})


@staff_required(Perm.MANAGE_MESSAGES)
def pressure(request: HttpRequest) -> HttpResponse:
    row = gate.pressure()
    if request.method == "POST":
        form = PressureForm(request.POST)
        if form.is_valid():
            try:
                services.update_pressure(
                    _who(request), services.PressureChange(**form.cleaned_data)
                )
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("messaging:pressure")
        status = 400
    else:
        form = PressureForm(
            initial={
                k: getattr(row, k)
                for k in ("max_marketing", "window_days", "quiet_start", "quiet_end", "per_second")
            }
        )
        status = 200
    return render(
        request,
        "messaging/pressure.html",
        {"form": form, "org_tz": current_org().timezone, "section": "pressure"},
        status=status,
    )


@staff_required(Perm.MANAGE_MESSAGES)
def suppressions(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "messaging/suppressions.html",
        {"rows": Suppression.objects.all()[:500], "section": "suppressions"},
    )


@require_POST
@staff_required(Perm.MANAGE_MESSAGES)
def suppression_lift(request: HttpRequest, pk: int) -> HttpResponse:
    row = access(Suppression, pk)
    services.lift_suppression(_who(request), row)
    messages.success(request, _("The address can receive messages again."))
    return redirect("messaging:suppressions")
