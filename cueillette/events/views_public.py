"""Public pages of sessions, at /o/<slug>/sessions/ (in the ``public`` namespace).

A visitor sees the upcoming sessions (and can subscribe to them: Atom and iCalendar), registers
with a name and an email, and confirms by the emailed link's button (a POST: mail scanners open
links, they do not press buttons). A customer whose space is open registers in one tap. The
registration's own page — reached by its signed link — shows the status, the video link when
they have a seat, the calendar file, the QR code for the door, and cancels or accepts an
offered seat in one click.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cueillette.core.decorators import public_org
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.core.tenancy import access
from cueillette.customers import services as customer_services
from cueillette.events import calendar, qr, queries, services
from cueillette.events.forms import FeedbackForm, RegistrationForm, apply_errors
from cueillette.events.models import Mode, RegStatus, Session, SessionStatus

# The public forms' limit and the space session are the public app's (one rule for every form).
from cueillette.public.views import _portal_customer, _rate_limited, _too_many


def _problem(request: HttpRequest, org: Organization, exc: ServiceError) -> HttpResponse:
    status = exc.status if exc.status in (400, 404, 409, 410) else 400
    return render(
        request,
        "events/public/problem.html",
        {"org": org, "message": exc.message, "code": exc.code},
        status=status,
    )


@public_org
def sessions(request: HttpRequest, org: Organization) -> HttpResponse:
    now = timezone.now()
    rows = queries.public_upcoming(now)
    for s in rows:
        s.left = max(0, s.capacity - s.seats)  # type: ignore[attr-defined]
    return render(request, "events/public/list.html", {"org": org, "sessions": rows, "now": now})


def _wordings(request: HttpRequest) -> dict[str, object]:
    return dict(customer_services.current_wordings(request.LANGUAGE_CODE))


@public_org
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, org: Organization, pk: int) -> HttpResponse:
    session = access(Session, pk)
    customer = _portal_customer(request, org)
    wordings = customer_services.current_wordings(request.LANGUAGE_CODE)
    form = RegistrationForm(
        request.POST if request.method == "POST" and "email" in request.POST else None,
        session=session,
        wordings=wordings,
    )
    now = timezone.now()
    if request.method == "POST":
        if _rate_limited(request, "events"):
            return _too_many(request, org)
        if customer is not None and "email" not in request.POST:
            # One tap from an open space: the customer is known, their consents are theirs.
            try:
                result = services.register_customer(
                    session,
                    customer,
                    actor=services.public_actor(),
                    answer=request.POST.get("answer", ""),
                    source="space",
                )
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                return redirect(
                    "public:event_registration",
                    slug=org.slug,
                    token=services.manage_token(result.registration),
                )
        elif form.is_bot:
            return redirect("public:event_sent", slug=org.slug, pk=session.pk)
        elif form.is_valid():
            try:
                services.request_registration(session, form.to_request(request.LANGUAGE_CODE))
            except ServiceError as exc:
                apply_errors(form, exc)
            else:
                return redirect("public:event_sent", slug=org.slug, pk=session.pk)
    seats = services.seats_taken(session)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "events/public/detail.html",
        {
            "org": org,
            "session": session,
            "form": form,
            "customer": customer,
            "seats_left": max(0, session.capacity - seats),
            "full": seats >= session.capacity,
            "closed": session.status != SessionStatus.SCHEDULED or now >= session.starts_at,
            "online": session.mode == Mode.ONLINE,
        },
        status=status,
    )


@public_org
def sent(request: HttpRequest, org: Organization, pk: int) -> HttpResponse:
    session = access(Session, pk)
    return render(request, "events/public/sent.html", {"org": org, "session": session})


@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    """GET shows the session and one button; only the button's POST confirms."""
    try:
        if request.method == "POST":
            result = services.confirm_registration(token)
            return redirect(
                "public:event_registration",
                slug=org.slug,
                token=services.manage_token(result.registration),
            )
        reg = services.pending_for_token(token)
    except ServiceError as exc:
        return _problem(request, org, exc)
    return render(request, "events/public/confirm.html", {"org": org, "reg": reg})


@never_cache
@public_org
def registration(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    try:
        reg = services.registration_for_manage(token)
    except ServiceError as exc:
        return _problem(request, org, exc)
    now = timezone.now()
    return render(
        request,
        "events/public/registration.html",
        {
            "org": org,
            "reg": reg,
            "session": reg.session,
            "token": token,
            "position": services.waitlist_position(reg),
            "can_cancel": reg.status
            in (RegStatus.CONFIRMED, RegStatus.WAITLISTED, RegStatus.OFFERED)
            and now < reg.session.starts_at,
            "offered": reg.status == RegStatus.OFFERED,
            "show_video": reg.holds_seat and reg.session.mode == Mode.ONLINE,
            "qr_svg": qr.registration_svg(services.checkin_code(reg)) if reg.holds_seat else "",
        },
    )


@never_cache
@public_org
@require_POST
def registration_cancel(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    try:
        reg = services.registration_for_manage(token)
        services.cancel_registration(reg, actor=services.public_actor())
    except ServiceError as exc:
        return _problem(request, org, exc)
    messages.success(request, _("Your registration is cancelled. Thank you for freeing the seat."))
    return redirect("public:event_registration", slug=org.slug, token=token)


@never_cache
@public_org
@require_POST
def registration_accept(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    try:
        reg = services.registration_for_manage(token)
        services.accept_offer(reg)
    except ServiceError as exc:
        return _problem(request, org, exc)
    messages.success(request, _("The seat is yours: see you there!"))
    return redirect("public:event_registration", slug=org.slug, token=token)


@public_org
def registration_ics(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    try:
        reg = services.registration_for_manage(token)
    except ServiceError as exc:
        return _problem(request, org, exc)
    response = HttpResponse(calendar.registration_ics(org, reg), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="session-{reg.session_id}.ics"'
    return response


@public_org
def feed_ics(request: HttpRequest, org: Organization) -> HttpResponse:
    body = calendar.feed_ics(org, queries.public_upcoming())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "public, max-age=600"
    return response


@public_org
def feed_atom(request: HttpRequest, org: Organization) -> HttpResponse:
    link = settings.SITE_URL + reverse("public:events", kwargs={"slug": org.slug})
    feed = feedgenerator.Atom1Feed(
        title=_("Sessions of %(name)s") % {"name": org.name},
        link=link,
        description="",
        language=request.LANGUAGE_CODE,
        feed_url=settings.SITE_URL + request.path,
    )
    for session in queries.public_upcoming():
        url = settings.SITE_URL + reverse(
            "public:event_detail", kwargs={"slug": org.slug, "pk": session.pk}
        )
        # Plain text only: the summary is escaped by the feed generator.
        feed.add_item(
            title=session.title,
            link=url,
            description=session.description,
            unique_id=url,
            pubdate=session.created_at,
            updateddate=session.starts_at,
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    return response


@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    """The one question after a session: GET shows it, records nothing; the POST records once."""
    try:
        reg = services.registration_for_feedback(token)
    except ServiceError as exc:
        return _problem(request, org, exc)
    if reg.feedback_at is not None:
        return render(request, "events/public/feedback_done.html", {"org": org, "reg": reg})
    form = FeedbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_feedback(
                token, form.cleaned_data["score"], form.cleaned_data.get("comment", "")
            )
        except ServiceError as exc:
            if exc.field:
                apply_errors(form, exc)
            else:
                return _problem(request, org, exc)
        else:
            return render(request, "events/public/feedback_done.html", {"org": org, "reg": reg})
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "events/public/feedback.html",
        {"org": org, "reg": reg, "form": form},
        status=status,
    )
