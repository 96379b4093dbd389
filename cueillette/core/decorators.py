"""The doors of pages: staff pages with a permission, public pages of one organization."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

from cueillette.core import tenancy
from cueillette.core.audit import Actor
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


SUPPORTED_LANGUAGES = ("fr", "en")
PUBLIC_LANGUAGE_COOKIE = "cueillette_lang"


def visitor_language(request: HttpRequest, *, default: str) -> str:
    """The language a visitor reads: their choice (``?lang=``, then the cookie set by a
    choice on a public or a staff page), else on a first visit their browser's
    (``Accept-Language``, in its order of preference), else ``default`` (the business's)."""
    for candidate in (
        request.GET.get("lang", ""),
        request.COOKIES.get(PUBLIC_LANGUAGE_COOKIE, ""),
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, ""),
    ):
        if candidate in SUPPORTED_LANGUAGES:
            return candidate
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            break
        primary = code.split("-")[0].lower()
        if primary in SUPPORTED_LANGUAGES:
            return primary
    return default if default in SUPPORTED_LANGUAGES else "fr"


def public_org(view: V) -> V:
    """A public page of one organization, found by the ``slug`` URL argument.

    Makes it the current tenant for the view and speaks the visitor's language
    (:func:`visitor_language`), the organization's when nothing says otherwise.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise Http404
        lang = visitor_language(request, default=org.language)
        request.organization = org  # type: ignore[attr-defined]
        with tenancy.tenant_context(org), translation.override(lang):
            request.LANGUAGE_CODE = lang
            response = view(request, org, *args, **kwargs)
            chosen = request.GET.get("lang", "")
            if chosen in SUPPORTED_LANGUAGES:
                # The choice holds on every page, public or staff (Django's cookie too).
                for name in (PUBLIC_LANGUAGE_COOKIE, settings.LANGUAGE_COOKIE_NAME):
                    response.set_cookie(name, chosen, max_age=365 * 24 * 3600, samesite="Lax")
            # Render lazily-rendered responses while the tenant and language are active.
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            return response

    return wrapper  # type: ignore[return-value]


def request_can(request: HttpRequest, perm: Perm) -> bool:
    """Whether the staff member of the request holds ``perm`` (to show or hide a button)."""
    membership = getattr(request, "membership", None)
    return membership is not None and role_has(membership.role, perm)


def staff_actor(request: HttpRequest) -> Actor:
    """The staff member of a page's request as the actor of a service call, with their role."""
    membership = getattr(request, "membership", None)
    return Actor.staff(request.user, role=membership.role if membership is not None else None)  # type: ignore[arg-type]
