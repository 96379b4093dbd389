"""The one-question exit survey (public, under /o/<slug>/leaving/<token>/).

Opening the link (GET) records nothing: mail scanners follow links. The POST records the
answer once, while the customer's FEEDBACK consent holds.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from cueillette.core.decorators import public_org
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.insights import services
from cueillette.insights.errors import Code


def _problem(request: HttpRequest, org: Organization, exc: ServiceError) -> HttpResponse:
    statuses: dict[str, int] = {
        Code.ALREADY_ANSWERED: 200,
        Code.TOKEN_EXPIRED: 410,
        Code.NO_CONSENT: 410,
    }
    status = statuses.get(exc.code, 404)
    return render(
        request,
        "insights/public/problem.html",
        {"org": org, "code": exc.code, "message": exc.message},
        status=status,
    )


@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def exit_survey(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    try:
        survey = services.exit_survey_for_token(token)
    except ServiceError as exc:
        return _problem(request, org, exc)
    if survey.answered_at is not None:
        return _problem(request, org, ServiceError(Code.ALREADY_ANSWERED, "already answered"))
    error: ServiceError | None = None
    chosen = request.POST.get("reason", "")
    comment = request.POST.get("comment", "")
    if request.method == "POST":
        try:
            services.answer_exit_survey(token, chosen, comment)
        except ServiceError as exc:
            if exc.field is None:
                return _problem(request, org, exc)
            error = exc
        else:
            return render(request, "insights/public/thanks.html", {"org": org})
    language = request.LANGUAGE_CODE
    return render(
        request,
        "insights/public/exit_survey.html",
        {
            "org": org,
            "reasons": [
                (r.code, r.label(language)) for r in services.reasons(include_hidden=False)
            ],
            "chosen": chosen,
            "comment": comment[:600],
            "error": error,
        },
        status=400 if error else 200,
    )
