"""API key pages: list, create (the key is shown once), revoke. Owners and managers only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cueillette.apikeys import scopes as scope_texts
from cueillette.apikeys import services
from cueillette.core.decorators import staff_actor, staff_required
from cueillette.core.errors import ServiceError
from cueillette.core.models import ApiKey
from cueillette.core.permissions import SCOPE_PRESETS, Perm
from cueillette.core.tenancy import access

# The ready-made sets offered as buttons: pressing one ticks its boxes for review, it does not
# create the key. "write" (everything) is not offered: each box is a choice.
PAGE_PRESETS = ("till", "read")


@staff_required(Perm.MANAGE_API_KEYS)
@require_http_methods(["GET"])
def key_list(request: HttpRequest) -> HttpResponse:
    keys = list(ApiKey.objects.select_related("created_by").order_by("revoked_at", "-created_at"))
    rows = [{"key": k, "scope_names": scope_texts.names(k.scopes)} for k in keys]
    return render(request, "apikeys/list.html", {"keys": keys, "rows": rows})


@never_cache
@staff_required(Perm.MANAGE_API_KEYS)
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest) -> HttpResponse:
    # Nothing is ticked at first: the person chooses each permission (or a preset, shown ticked).
    values: dict[str, Any] = {"name": "", "scopes": set()}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {
            "name": request.POST.get("name", ""),
            "scopes": set(request.POST.getlist("scopes")),
        }
        preset = request.POST.get("preset", "")
        if preset in PAGE_PRESETS:
            values["scopes"] = {s.value for s in SCOPE_PRESETS[preset]}
        else:
            try:
                key, raw = services.create_api_key(
                    values["name"],
                    sorted(values["scopes"]),
                    actor=staff_actor(request),
                )
            except ServiceError as exc:
                for err in exc.errors or [exc.as_dict()]:
                    errors.setdefault(err.get("field") or "__all__", err["message"])
            else:
                # The full key is in this answer only: never stored, never cached.
                context = {"key": key, "raw_key": raw, "scope_names": scope_texts.names(key.scopes)}
                return render(request, "apikeys/created.html", context)
    return render(
        request,
        "apikeys/create.html",
        {"values": values, "errors": errors, "groups": scope_texts.GROUPS},
        status=400 if errors else 200,
    )


@staff_required(Perm.MANAGE_API_KEYS)
@require_POST
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = access(ApiKey, pk)
    services.revoke_api_key(key, actor=staff_actor(request))
    messages.success(
        request, _("The key “%(name)s” is revoked: it stops working at once.") % {"name": key.name}
    )
    return redirect("apikeys:list")
