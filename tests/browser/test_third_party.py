"""No page ever asks another host for anything, and the strict CSP is never violated."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Site, login, visit
from .pages import logged_in_pages, open_space, public_pages, space_pages

pytestmark = pytest.mark.browser


def test_the_guard_catches_third_party_requests_and_csp_violations(site: Site) -> None:
    """The checks below are only worth something if they can fail: feed them bad pages."""
    page = site.new_page()
    guard = site.guards[-1]
    leaky = (
        "<!doctype html><html lang='en'><head><title>leaky</title>"
        "<link rel='stylesheet' href='https://fonts.example.com/css'></head>"
        "<body><img alt='' src='https://cdn.example.com/pixel.png'></body></html>"
    )
    inline = (
        "<!doctype html><html lang='en'><head><title>inline</title></head>"
        "<body><script>document.title = 'inline ran'</script>"
        "<img alt='' src='https://cdn.example.com/blocked.png'></body></html>"
    )

    def serve(body: str, csp: str | None) -> Any:
        headers = {"Content-Security-Policy": csp} if csp else {}
        return lambda r: r.fulfill(status=200, content_type="text/html", headers=headers, body=body)

    page.route(site("/__leaky__"), serve(leaky, None))
    page.route(site("/__inline__"), serve(inline, "default-src 'self'; script-src 'self'"))

    # Without a CSP, the request leaves: the route sees it and aborts it.
    page.goto(site("/__leaky__"))
    page.wait_for_load_state("load")
    assert any("cdn.example.com" in u for u in guard.third_party), guard
    assert any("fonts.example.com" in u for u in guard.third_party), guard

    # With our CSP the browser refuses, and says so in the console.
    page.goto(site("/__inline__"))
    page.wait_for_load_state("load")
    assert page.title() == "inline"  # the inline script did not run
    assert any("inline script" in m for m in guard.csp), guard
    assert any("blocked.png" in m for m in guard.csp), guard

    # The bad pages were ours; do not let the teardown check fail on them.
    guard.third_party.clear()
    guard.csp.clear()


def _visit_all(site: Site, page: Any, pages: list[tuple[str, str]]) -> list[str]:
    """Open every page; return what went wrong on each (all pages, not just the first)."""
    guard = site.guards[-1]
    found: list[str] = []
    for label, url in pages:
        try:
            visit(page, url)
            page.wait_for_load_state("networkidle")
        except AssertionError as exc:
            found.append(f"{label}: {str(exc)[:300]}")
        problems = guard.problems()
        found += [f"{label} ({url}): {p}" for p in problems]
        # Each page answers for itself.
        guard.third_party.clear()
        guard.csp.clear()
        guard.js_errors.clear()
        guard.server_errors.clear()
    return found


def test_public_pages_stay_on_our_server(site: Site, business: Any) -> None:
    page = site.new_page()
    found = _visit_all(site, page, public_pages(site, business))
    assert not found, "\n".join(found)


def test_staff_pages_stay_on_our_server(site: Site, boss: Any, make_customer: Any) -> None:
    customer = make_customer(boss.org)
    page = site.new_page()
    login(page, site, boss.email)
    found = _visit_all(site, page, logged_in_pages(site, boss.org, customer))
    assert not found, "\n".join(found)


def test_customer_space_stays_on_our_server(site: Site, business: Any, make_customer: Any) -> None:
    customer = make_customer(business)
    page = site.new_page()
    open_space(site, page, business, customer)
    found = _visit_all(site, page, space_pages(site, business))
    assert not found, "\n".join(found)
