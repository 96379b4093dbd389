"""The survey page and the one-click unsubscribe (public, under /o/<slug>/).

Opening a survey link (GET) never records anything: mail scanners follow links. It shows the
question with the score of the link preselected; the page's POST records the answer, once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from cueillette.core.decorators import public_org
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.feedback import services
from cueillette.feedback.errors import Code
from cueillette.feedback.models import Category, Survey
from cueillette.public.views import _portal_customer

SCORES = list(range(11))


def _problem(request: HttpRequest, org: Organization, exc: ServiceError) -> HttpResponse:
    """A clear page for a used, expired or broken link, or a survey closed by the customer."""
    statuses: dict[str, int] = {
        Code.ALREADY_ANSWERED: 200,
        Code.TOKEN_EXPIRED: 410,
        Code.CONSENT_WITHDRAWN: 410,
    }
    status = statuses.get(exc.code, 400)
    if exc.code == Code.ALREADY_ANSWERED and request.method == "POST":
        status = 409
    return render(
        request,
        "feedback/public/problem.html",
        {"org": org, "code": exc.code, "message": exc.message},
        status=status,
    )


def _referral_url(org: Organization, *, space_open: bool) -> str | None:
    """Where "Recommend us to a friend" leads: the member's referral page if this browser has
    their space open; else the page asking for a link to the space, which then opens on the
    referral page (``next``). None without the referrals app."""
    try:
        page = reverse("public:referral_share", kwargs={"slug": org.slug})
    except NoReverseMatch:
        return None
    if space_open:
        return settings.SITE_URL + page
    link = reverse("public:portal_request", kwargs={"slug": org.slug})
    return f"{settings.SITE_URL}{link}?{urlencode({'next': page}, safe='/')}"


def _preselected(value: Any) -> int | None:
    try:
        score = int(str(value))
    except (TypeError, ValueError):
        return None
    return score if 0 <= score <= 10 else None


def _form(
    request: HttpRequest,
    org: Organization,
    survey: Survey,
    *,
    score: int | None,
    comment: str = "",
    error: ServiceError | None = None,
    status: int = 200,
) -> HttpResponse:
    settings_row = services.get_settings()
    context = {
        "org": org,
        "survey": survey,
        "question": settings_row.question(request.LANGUAGE_CODE, org.name),
        "scores": SCORES,
        "selected": score,
        "comment": comment,
        "error": error,
        "comment_max": services.COMMENT_MAX,
    }
    return render(request, "feedback/public/survey.html", context, status=status)


@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    if request.method == "POST":
        score = request.POST.get("score")
        comment = request.POST.get("comment", "")
        try:
            result = services.answer(token, score, comment)
        except ServiceError as exc:
            if exc.field is None:
                return _problem(request, org, exc)
            try:
                found = services.survey_for_token(token)
            except ServiceError as other:
                return _problem(request, org, other)
            return _form(
                request,
                org,
                found,
                score=_preselected(score),
                comment=comment[: services.COMMENT_MAX * 2],
                error=exc,
                status=400,
            )
        space_open = _portal_customer(request, org) is not None
        context = {
            "org": org,
            "category": result.category,
            "score": result.survey.score,
            "invite": result.invite_promoter,
            "community_url": services.optional_url("public:community_new", org),
            "referral_url": _referral_url(org, space_open=space_open),
            "space_open": space_open,
            "Category": Category,
        }
        return render(request, "feedback/public/thanks.html", context)
    try:
        found = services.survey_for_token(token)
    except ServiceError as exc:
        return _problem(request, org, exc)
    return _form(request, org, found, score=_preselected(request.GET.get("score")))


@csrf_exempt  # the signed token is the capability; RFC 8058 one-click POSTs carry no CSRF token
@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    """GET shows one button; its POST (or a mail client's one-click POST) withdraws."""
    try:
        customer = services.customer_for_unsubscribe(token)
        if request.method == "POST":
            one_click = request.POST.get("List-Unsubscribe") == "One-Click"
            services.unsubscribe(token, one_click=one_click)
            return render(request, "feedback/public/unsubscribed.html", {"org": org})
    except ServiceError as exc:
        return _problem(request, org, exc)
    return render(
        request,
        "feedback/public/unsubscribe.html",
        {"org": org, "has_email": bool(customer.email)},
    )
