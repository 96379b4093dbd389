"""The public unsubscribe page of every message (no login: the signed link is the key)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from cueillette.core.decorators import public_org
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.customers.models import Purpose
from cueillette.messaging import services

CHOICES = ("stop", "all", "fewer", "pause")


@csrf_exempt  # the signed token is the capability; RFC 8058 one-click POSTs carry no CSRF token
@never_cache
@public_org
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, org: Organization, token: str) -> HttpResponse:
    """GET: the choices, and nothing changes. POST: the choice (one-click: stop)."""
    try:
        delivery = services.delivery_for_token(token)
    except ServiceError as exc:
        return render(
            request, "messaging/public/problem.html", {"org": org, "error": exc}, status=404
        )
    purpose_label = Purpose(delivery.purpose).label if delivery.purpose in Purpose.values else ""
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        choice = "stop" if one_click else request.POST.get("choice", "stop")
        if choice not in CHOICES:
            choice = "stop"
        services.unsubscribe(delivery, choice)
        if one_click:
            return HttpResponse(status=200)
        return render(
            request,
            "messaging/public/done.html",
            {"org": org, "choice": choice, "purpose_label": purpose_label},
        )
    return render(
        request,
        "messaging/public/unsubscribe.html",
        {"org": org, "purpose_label": purpose_label, "marketing": delivery.klass == "marketing"},
    )
