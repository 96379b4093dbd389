"""``/api/v1/``: the NinjaAPI, and JSON answers for what ninja leaves to Django (405, 404)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from cueillette.api import api, error_body, mount_routers

mount_routers()


@csrf_exempt  # keys, not cookies: an unknown route answers 404 JSON, not a CSRF page
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    return JsonResponse(error_body("not_found", _("no such API route")), status=404)


def _json_errors(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A wrong method or a missing root answers in the API's error format, not in HTML."""

    @functools.wraps(view)  # keeps csrf_exempt: keys, not cookies, authenticate the API
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return not_found(request)
        if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
            allowed = response.get("Allow", "")
            response = JsonResponse(
                error_body(
                    "method_not_allowed",
                    _("method %(method)s is not allowed here (allowed: %(allowed)s)")
                    % {"method": request.method, "allowed": allowed},
                ),
                status=405,
            )
            response["Allow"] = allowed
        return response

    return wrapper


def _wrapped(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    out: list[URLPattern | URLResolver] = []
    for p in patterns:
        if isinstance(p, URLPattern):
            p = URLPattern(p.pattern, _json_errors(p.callback), p.default_args, p.name)
        out.append(p)
    return out


_patterns, _app_name, _namespace = api.urls

urlpatterns = [
    path("", include((_wrapped(_patterns), _app_name), namespace=_namespace)),
    re_path(r"^(?P<rest>.*)$", not_found, name="api-not-found"),
]
