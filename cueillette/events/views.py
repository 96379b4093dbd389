"""The staff pages of sessions, mounted at /app/events/ (namespace "events").

Owner and manager offer sessions and series, edit and cancel them and read the figures; every
role runs the door (check in by tapping a name or scanning the QR code, walk-ins). Views only
translate: parse, access, call one service or one read, render.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from cueillette.core.decorators import request_can, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access
from cueillette.events import queries, services
from cueillette.events.forms import SeriesForm, SessionForm, WalkInForm, apply_errors
from cueillette.events.models import Registration, Series, Session


def _op(request: HttpRequest) -> services.Operator:
    return services.Operator.of(request.membership)  # type: ignore[attr-defined]


@staff_required(Perm.VIEW_EVENTS)
def index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    upcoming = list(queries.upcoming(now))
    past = list(queries.past(now, limit=20))
    context: dict[str, Any] = {
        "upcoming": upcoming,
        "past": past,
        "can_manage": request_can(request, Perm.MANAGE_EVENTS),
        "series": queries.series_with_sessions()
        if request_can(request, Perm.MANAGE_EVENTS)
        else [],
        "public_url": settings.SITE_URL
        + reverse("public:events", kwargs={"slug": request.organization.slug}),  # type: ignore[attr-defined]
    }
    if request_can(request, Perm.MANAGE_EVENTS):
        context["figures"] = queries.figures(past, now)
    return render(request, "events/staff/index.html", context)


@staff_required(Perm.MANAGE_EVENTS)
@require_http_methods(["GET", "POST"])
def session_new(request: HttpRequest) -> HttpResponse:
    form = SessionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            session = services.create_session(_op(request), form.to_input())
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Session created: it is on your public sessions page."))
            return redirect("events:session", pk=session.pk)
    return render(request, "events/staff/session_form.html", {"form": form, "session": None})


@staff_required(Perm.MANAGE_EVENTS)
@require_http_methods(["GET", "POST"])
def series_new(request: HttpRequest) -> HttpResponse:
    form = SeriesForm(request.POST or None, initial={"weeks": 8, "capacity": 12})
    if request.method == "POST" and form.is_valid():
        try:
            result = services.create_series(_op(request), form.to_series_input())
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            n = len(result.sessions)
            messages.success(
                request,
                ngettext("Series created: %(n)d session.", "Series created: %(n)d sessions.", n)
                % {"n": n},
            )
            return redirect("events:series", pk=result.series.pk)
    return render(request, "events/staff/series_form.html", {"form": form})


@staff_required(Perm.MANAGE_EVENTS)
def series_detail(request: HttpRequest, pk: int) -> HttpResponse:
    series = access(Series, pk)
    sessions = list(Session.objects.filter(series=series).order_by("starts_at"))
    return render(
        request,
        "events/staff/series.html",
        {"series": series, "sessions": sessions, "figures": queries.figures(sessions)},
    )


@staff_required(Perm.VIEW_EVENTS)
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = access(Session, pk)
    return render(
        request,
        "events/staff/session.html",
        {
            "session": session,
            "people": queries.people(session),
            "walk_in_form": WalkInForm(),
            "can_manage": request_can(request, Perm.MANAGE_EVENTS),
            "figures": queries.figures([session])
            if request_can(request, Perm.MANAGE_EVENTS)
            else None,
            "seats_taken": services.seats_taken(session),
            "now": timezone.now(),
        },
    )


@staff_required(Perm.MANAGE_EVENTS)
@require_http_methods(["GET", "POST"])
def session_edit(request: HttpRequest, pk: int) -> HttpResponse:
    session = access(Session, pk)
    form = SessionForm(request.POST or None, session=session)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.update_session(_op(request), session, form.to_input())
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            moved = len(result.moved_to_waitlist)
            if moved:
                messages.warning(
                    request,
                    ngettext(
                        "Saved. %(n)d person above the new capacity was moved to the head of "
                        "the waiting list and told why.",
                        "Saved. %(n)d people above the new capacity were moved to the head of "
                        "the waiting list and told why.",
                        moved,
                    )
                    % {"n": moved},
                )
            else:
                messages.success(request, _("Saved."))
            return redirect("events:session", pk=session.pk)
    return render(request, "events/staff/session_form.html", {"form": form, "session": session})


@staff_required(Perm.MANAGE_EVENTS)
@require_http_methods(["GET", "POST"])
def session_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    session = access(Session, pk)
    if request.method == "POST":
        services.cancel_session(_op(request), session)
        messages.success(request, _("Session cancelled; every registered person was told."))
        return redirect("events:session", pk=session.pk)
    return render(
        request,
        "events/staff/session_cancel.html",
        {"session": session, "people": queries.people(session)},
    )


@staff_required(Perm.RUN_EVENTS)
@require_POST
def check_in(request: HttpRequest, pk: int) -> HttpResponse:
    reg = access(Registration, pk)
    try:
        result = services.check_in(_op(request), reg)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        _checked_in_message(request, result)
    return redirect("events:session", pk=reg.session_id)


def _checked_in_message(request: HttpRequest, result: services.CheckInResult) -> None:
    name = result.registration.name or _("a customer")
    if result.already:
        messages.info(request, _("%(name)s was already checked in.") % {"name": name})
    elif result.points:
        messages.success(
            request,
            ngettext(
                "%(name)s checked in: +%(n)d point.",
                "%(name)s checked in: +%(n)d points.",
                result.points,
            )
            % {"name": name, "n": result.points},
        )
    else:
        messages.success(request, _("%(name)s checked in.") % {"name": name})


@staff_required(Perm.RUN_EVENTS)
@require_POST
def scan(request: HttpRequest, pk: int) -> HttpResponse:
    """The door's scanner (or a typed code): check in the registration the QR code names."""
    session = access(Session, pk)
    try:
        reg = services.registration_for_checkin(request.POST.get("code", ""))
        if reg.session_id != session.pk:
            raise ServiceError(
                "wrong_session",
                _("this QR code is for another session: %(title)s") % {"title": reg.session.title},
                field="code",
            )
        result = services.check_in(_op(request), reg)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        _checked_in_message(request, result)
    return redirect("events:session", pk=session.pk)


@staff_required(Perm.RUN_EVENTS)
@require_POST
def walk_in(request: HttpRequest, pk: int) -> HttpResponse:
    session = access(Session, pk)
    form = WalkInForm(request.POST)
    if form.is_valid():
        try:
            result = services.walk_in(_op(request), session, form.to_input())
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            _checked_in_message(request, result)
            return redirect("events:session", pk=session.pk)
    return render(
        request,
        "events/staff/session.html",
        {
            "session": session,
            "people": queries.people(session),
            "walk_in_form": form,
            "can_manage": request_can(request, Perm.MANAGE_EVENTS),
            "figures": queries.figures([session])
            if request_can(request, Perm.MANAGE_EVENTS)
            else None,
            "seats_taken": services.seats_taken(session),
            "now": timezone.now(),
        },
        status=400,
    )


@staff_required(Perm.RUN_EVENTS)
@require_POST
def cancel_registration(request: HttpRequest, pk: int) -> HttpResponse:
    reg = access(Registration, pk)
    try:
        services.cancel_registration(reg, actor=_op(request).actor, who=_op(request))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Registration cancelled."))
    return redirect("events:session", pk=reg.session_id)
