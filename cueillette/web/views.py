from __future__ import annotations

import datetime as dt

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from cueillette.core import audit_words
from cueillette.core.decorators import staff_required
from cueillette.core.models import AuditEvent
from cueillette.customers import queries as customer_queries


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and getattr(request, "membership", None):
        return redirect("web:home")
    return render(request, "web/landing.html")


@staff_required()
def home(request: HttpRequest) -> HttpResponse:
    since = timezone.now() - dt.timedelta(days=30)
    context = {
        "figures": customer_queries.overview(since=since),
        "recent": audit_words.worded(
            list(AuditEvent.objects.select_related("actor_user")[:8]), audit_words.staff_roles()
        )
        if request.membership.role == "owner"  # type: ignore[attr-defined]
        else [],
    }
    return render(request, "web/home.html", context)


def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
