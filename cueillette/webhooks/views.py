"""Webhook pages (owner): endpoints, the secret shown once, the delivery log, replay."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cueillette.core.audit import Actor
from cueillette.core.decorators import staff_actor, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access
from cueillette.webhooks import services
from cueillette.webhooks.models import EVENTS, Delivery, Endpoint


def _actor(request: HttpRequest) -> Actor:
    return staff_actor(request)


def _secret_page(
    request: HttpRequest, endpoint: Endpoint, secret: str, *, rotated: bool
) -> HttpResponse:
    response = render(
        request,
        "webhooks/secret.html",
        {"endpoint": endpoint, "secret": secret, "rotated": rotated},
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_required(Perm.MANAGE_WEBHOOKS)
def index(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        "endpoints": Endpoint.objects.filter(active=True),
        "events": list(EVENTS.items()),
        "chosen": [],
        "errors": {},
    }
    if request.method == "POST":
        url = request.POST.get("url", "")
        chosen = request.POST.getlist("events")
        context.update(url=url, chosen=chosen, description=request.POST.get("description", ""))
        try:
            endpoint, secret = services.create_endpoint(
                url,
                chosen,
                actor=_actor(request),
                description=request.POST.get("description", ""),
            )
        except ServiceError as exc:
            context["errors"] = {exc.field or "url": exc.message}
            return render(request, "webhooks/index.html", context, status=400)
        return _secret_page(request, endpoint, secret, rotated=False)
    return render(request, "webhooks/index.html", context)


@staff_required(Perm.MANAGE_WEBHOOKS)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = access(Endpoint, pk)
    deliveries = Delivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")[:100]
    return render(
        request,
        "webhooks/detail.html",
        {"endpoint": endpoint, "deliveries": deliveries, "events": list(EVENTS.items())},
    )


@staff_required(Perm.MANAGE_WEBHOOKS)
@require_POST
def rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = access(Endpoint, pk)
    secret = services.rotate_secret(endpoint, actor=_actor(request))
    endpoint.refresh_from_db()
    return _secret_page(request, endpoint, secret, rotated=True)


@staff_required(Perm.MANAGE_WEBHOOKS)
@require_POST
def events(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = access(Endpoint, pk)
    try:
        services.update_events(endpoint, request.POST.getlist("events"), actor=_actor(request))
        messages.success(request, _("Events saved."))
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("webhooks:detail", pk=endpoint.pk)


@staff_required(Perm.MANAGE_WEBHOOKS)
@require_POST
def toggle(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = access(Endpoint, pk)
    if endpoint.is_paused:
        n = services.resume(endpoint, actor=_actor(request))
        messages.success(request, _("Resumed: %(n)d waiting events are being sent.") % {"n": n})
    else:
        services.pause(endpoint, actor=_actor(request))
        messages.success(request, _("Paused: events wait until you resume."))
    return redirect("webhooks:detail", pk=endpoint.pk)


@staff_required(Perm.MANAGE_WEBHOOKS)
@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = access(Endpoint, pk)
    services.remove(endpoint, actor=_actor(request))
    messages.success(request, _("The webhook was removed: nothing more is sent to it."))
    return redirect("webhooks:index")


@staff_required(Perm.MANAGE_WEBHOOKS)
@require_POST
def replay(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    endpoint = access(Endpoint, pk)
    delivery = access(Delivery, delivery_id, endpoint=endpoint)
    services.replay(delivery, actor=_actor(request))
    messages.success(request, _("The event is sent again, with the same event id."))
    return redirect("webhooks:detail", pk=endpoint.pk)
