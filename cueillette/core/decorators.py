"""The doors of pages: staff pages with a permission, public pages of one organization."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation

from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.core.permissions import Perm, role_has

V = TypeVar("V", bound=Callable[..., HttpResponse])


def staff_required(perm: Perm | None = None) -> Callable[[V], V]:
    """Logged-in staff of the current organization, holding ``perm`` if given."""

    def decorator(view: V) -> V:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = getattr(request, "membership", None)
            if membership is None:
                return redirect("accounts:no_organization")
            if perm is not None and not role_has(membership.role, perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def public_org(view: V) -> V:
    """A public page of one organization, found by the ``slug`` URL argument.

    Makes it the current tenant for the view and speaks the organization's language unless
    the visitor chose another (``?lang=`` or the language cookie).
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise Http404
        lang = request.GET.get("lang") or request.COOKIES.get("cueillette_lang") or org.language
        if lang not in ("fr", "en"):
            lang = org.language
        request.organization = org  # type: ignore[attr-defined]
        with tenancy.tenant_context(org), translation.override(lang):
            request.LANGUAGE_CODE = lang
            response = view(request, org, *args, **kwargs)
            if "lang" in request.GET and request.GET["lang"] in ("fr", "en"):
                response.set_cookie(
                    "cueillette_lang", request.GET["lang"], max_age=365 * 24 * 3600, samesite="Lax"
                )
            # Render lazily-rendered responses while the tenant and language are active.
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            return response

    return wrapper  # type: ignore[return-value]
