"""The main pages, shared by the third-party check and the accessibility audit."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from .conftest import Site


def _first(*candidates: tuple[str, dict[str, Any]]) -> str:
    """Reverse the first URL name that exists (page names may still move)."""
    errors = []
    for name, kwargs in candidates:
        try:
            return reverse(name, kwargs=kwargs or None)
        except NoReverseMatch as exc:
            errors.append(str(exc))
    raise NoReverseMatch("; ".join(errors))


def _optional(site: Site, *pages: tuple[str, str], **kwargs: Any) -> list[tuple[str, str]]:
    """Pages of apps that may not be installed yet: listed only when their URL exists."""
    out = []
    for label, name in pages:
        try:
            out.append((label, site(name, **kwargs)))
        except NoReverseMatch:
            continue
    return out


def portal_request_path(slug: str) -> str:
    return _first(
        ("public:portal_request", {"slug": slug}),
        ("public:space_request", {"slug": slug}),
        ("public:portal", {"slug": slug}),
        ("public:space", {"slug": slug}),
    )


def public_pages(site: Site, org: Any) -> list[tuple[str, str]]:
    slug = org.slug
    return [
        ("landing", site("/")),
        ("login", site("accounts:login")),
        ("signup", site("accounts:signup")),
        ("join", site("public:join", slug=slug)),
        ("poster", site("public:poster", slug=slug)),
        ("portal request", site(portal_request_path(slug))),
    ]


def logged_in_pages(site: Site, org: Any, customer: Any) -> list[tuple[str, str]]:
    return [
        ("staff home", site("web:home")),
        ("customer list", site("customers:list")),
        ("customer search", site("customers:list") + "?q=" + (customer.last_name or "a")),
        ("new customer", site("customers:create")),
        ("customer detail", site("customers:detail", pk=customer.pk)),
        ("edit customer", site("customers:edit", pk=customer.pk)),
        ("settings", site("accounts:settings")),
        ("team", site("accounts:staff")),
        ("consent wordings", site("customers:wordings")),
        ("possible duplicates", site("customers:duplicates")),
        ("import customers", site("customers:import")),
        ("API keys", site("apikeys:list")),
        ("new API key", site("apikeys:create")),
        ("activity log", site("customers:audit")),
        ("switch business", site("accounts:switch")),
        ("API docs", site("/api/v1/docs")),
        *_optional(
            site,
            ("loyalty: counter", "loyalty:counter"),
            ("loyalty: program", "loyalty:program_settings"),
            ("loyalty: rewards", "loyalty:program_rewards"),
            ("loyalty: tiers", "loyalty:program_tiers"),
            ("loyalty: simulate", "loyalty:program_simulate"),
            ("loyalty: dashboard", "loyalty:dashboard"),
        ),
    ]


def open_space(site: Site, page: Any, org: Any, customer: Any) -> None:
    """Open the customer's space in ``page`` through a magic link, as the email would."""
    import datetime as dt

    from django.utils import timezone

    from cueillette.core import tenancy
    from cueillette.core.tokens import hash_token, new_token
    from cueillette.customers.models import AccessToken

    raw = new_token()
    with tenancy.tenant_context(org):
        AccessToken.objects.create(
            customer=customer,
            token_hash=hash_token(raw),
            expires_at=timezone.now() + dt.timedelta(hours=1),
        )
    page.goto(site("public:portal_open", slug=org.slug, token=raw))
    with page.expect_navigation():
        page.locator("main form[method=post]:not([action]) button[type=submit]").first.click()
    assert page.url == site("public:portal", slug=org.slug), page.url


def space_pages(site: Site, org: Any) -> list[tuple[str, str]]:
    slug = org.slug
    return [
        ("customer space", site("public:portal", slug=slug)),
        ("customer space: correct my details", site("public:portal_edit", slug=slug)),
        ("customer space: erase", site("public:portal_erase", slug=slug)),
        *_optional(site, ("customer space: loyalty", "public:loyalty"), slug=slug),
    ]
