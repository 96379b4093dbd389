"""API key pages: list, create (the key is shown once), revoke. Owners and managers only."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cueillette.apikeys import services
from cueillette.core.audit import Actor
from cueillette.core.decorators import staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.models import ApiKey
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import access


@staff_required(Perm.MANAGE_API_KEYS)
@require_http_methods(["GET"])
def key_list(request: HttpRequest) -> HttpResponse:
    keys = ApiKey.objects.select_related("created_by").order_by("revoked_at", "-created_at")
    return render(
        request,
        "apikeys/list.html",
        {"keys": keys, "scopes": ApiKey.Scope.choices},
    )


@never_cache
@staff_required(Perm.MANAGE_API_KEYS)
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest) -> HttpResponse:
    values = {"name": "", "scope": ApiKey.Scope.READ.value}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {
            "name": request.POST.get("name", ""),
            "scope": request.POST.get("scope", ""),
        }
        try:
            key, raw = services.create_api_key(
                values["name"],
                values["scope"],
                actor=Actor.staff(request.user),  # type: ignore[arg-type]
            )
        except ServiceError as exc:
            for err in exc.errors or [exc.as_dict()]:
                errors.setdefault(err.get("field") or "__all__", err["message"])
        else:
            # The full key is in this answer only: never stored, never cached.
            return render(request, "apikeys/created.html", {"key": key, "raw_key": raw})
    return render(
        request,
        "apikeys/create.html",
        {"values": values, "errors": errors, "scopes": ApiKey.Scope.choices},
        status=400 if errors else 200,
    )


@staff_required(Perm.MANAGE_API_KEYS)
@require_POST
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = access(ApiKey, pk)
    services.revoke_api_key(key, actor=Actor.staff(request.user))  # type: ignore[arg-type]
    messages.success(
        request, _("The key “%(name)s” is revoked: it stops working at once.") % {"name": key.name}
    )
    return redirect("apikeys:list")
