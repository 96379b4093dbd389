"""axe-core finds no serious or critical accessibility problem on the main pages.

Every page is audited even when an earlier one fails, so one run lists every problem.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PHONE, TABLET, Site, axe_audit, login, visit
from .pages import logged_in_pages, open_space, public_pages, space_pages

pytestmark = pytest.mark.browser


def _audit_all(page: Any, pages: list[tuple[str, str]]) -> list[str]:
    found: list[str] = []
    for label, url in pages:
        try:
            visit(page, url)
        except AssertionError as exc:
            found.append(f"{label}: could not open {url}: {str(exc)[:300]}")
            continue
        found += [f"{label}: {v}" for v in axe_audit(page)]
    return found


def test_the_audit_finds_problems_under_our_csp(site: Site) -> None:
    """axe-core runs despite 'script-src self' and reports what it should."""
    page = site.new_page()
    bad = (
        "<!doctype html><html><head><title>bad</title></head><body>"
        "<img src='/static/web/img/icon.svg'><input type='text'></body></html>"
    )
    page.route(
        site("/__bad_a11y__"),
        lambda r: r.fulfill(
            status=200,
            content_type="text/html",
            headers={"Content-Security-Policy": "default-src 'self'; script-src 'self'"},
            body=bad,
        ),
    )
    page.goto(site("/__bad_a11y__"))
    found = "\n".join(axe_audit(page))
    assert "image-alt" in found, found
    assert "label" in found, found


def test_axe_on_public_pages(site: Site, business: Any) -> None:
    page = site.new_page()
    found = _audit_all(page, public_pages(site, business))
    assert not found, "\n\n".join(found)


def test_axe_on_public_pages_on_a_phone(site: Site, business: Any) -> None:
    page = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    pages = [(f"{label} (phone)", url) for label, url in public_pages(site, business)]
    found = _audit_all(page, [p for p in pages if p[0].split()[0] in {"join", "portal"}])
    assert not found, "\n\n".join(found)


def test_axe_on_staff_pages(site: Site, boss: Any, make_customer: Any) -> None:
    customer = make_customer(boss.org)
    page = site.new_page()
    login(page, site, boss.email)
    # The API reference (/api/v1/docs) is server-rendered from the schema and audited like
    # any page; Swagger UI (?ui=swagger) stays a developer's tool one link away.
    pages = logged_in_pages(site, boss.org, customer)
    found = _audit_all(page, pages)
    assert not found, "\n\n".join(found)


def test_axe_on_the_customer_space_on_a_phone(
    site: Site, business: Any, make_customer: Any
) -> None:
    customer = make_customer(business)
    page = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    open_space(site, page, business, customer)
    found = _audit_all(page, space_pages(site, business))
    assert not found, "\n\n".join(found)


def test_axe_on_counter_pages_on_a_tablet(site: Site, make_staff: Any, make_customer: Any) -> None:
    from cueillette.accounts.models import Role

    lea = make_staff(Role.COUNTER)
    customer = make_customer(lea.org)
    page = site.new_page(viewport=TABLET, has_touch=True)
    login(page, site, lea.email)
    pages = [
        ("counter: home", site("web:home")),
        ("counter: search", site("customers:list") + "?q=06+12"),
        ("counter: register", site("customers:create")),
        ("counter: customer", site("customers:detail", pk=customer.pk)),
    ]
    found = _audit_all(page, pages)
    assert not found, "\n\n".join(found)


def test_the_join_form_works_with_the_keyboard_alone(site: Site, business: Any) -> None:
    """Tab through the join page: every field, box and the button are reachable, in order,
    with a visible focus; Space ticks a box and Enter sends the form."""
    page = site.new_page()
    visit(page, site("public:join", slug=business.slug))
    describe = """() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const style = getComputedStyle(el);
        const visible = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
                        || style.boxShadow !== 'none';
        return {tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '',
                text: (el.innerText || '').trim().slice(0, 40), visible: visible};
    }"""
    order: list[dict[str, Any]] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        info = page.evaluate(describe)
        if info is None:
            continue
        order.append(info)
        if info["name"] == "email":
            page.keyboard.type("sam@example.net")
        elif info["name"] == "first_name":
            page.keyboard.type("Sam")
        elif info["name"] == "last_name":
            page.keyboard.type("Lefèvre")
        elif info["name"] == "consent_loyalty":
            page.keyboard.press("Space")
        elif (
            info["tag"] == "button"
            and info["type"] == "submit"
            and "email" in {o["name"] for o in order}
        ):
            break
    names = [o["name"] for o in order]
    for wanted in ("first_name", "email", "consent_news_email", "consent_loyalty"):
        assert wanted in names, f"{wanted} is not reachable with Tab; order: {names}"
    assert names.index("first_name") < names.index("email") < names.index("consent_loyalty")
    assert "website" not in names, "the honeypot must not take keyboard focus"
    unfocused = [o for o in order if not o["visible"]]
    assert not unfocused, f"no visible focus on: {unfocused}"
    assert order[-1]["tag"] == "button", f"the submit button is not reachable: {order}"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == site("public:join_done", slug=business.slug), (
        f"{page.url}\n{order}\n" + page.locator("main").inner_text()
    )


def test_form_errors_are_next_to_their_field_and_announced(site: Site, business: Any) -> None:
    """Send the join form with mistakes: each field in error says why, to a screen reader."""
    page = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    visit(page, site("public:join", slug=business.slug))
    form = page.locator("main form:has(input[name=email])").first
    form.locator("input[name=first_name]").fill("Sam")
    form.locator("input[name=last_name]").fill("Lefèvre")
    form.locator("input[name=email]").fill("sam.example.net")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    invalid = page.locator("main [aria-invalid=true]")
    assert invalid.count() >= 1, page.locator("main").inner_text()
    for i in range(invalid.count()):
        field = invalid.nth(i)
        name = field.get_attribute("name")
        described = (field.get_attribute("aria-describedby") or "").split()
        messages = [
            page.locator(f"[id='{d}']").inner_text().strip()
            for d in described
            if page.locator(f"[id='{d}']").count()
        ]
        assert any(messages), f"{name}: aria-invalid but no message it is described by"
    email = page.locator("main input[name=email]")
    assert email.get_attribute("aria-invalid") == "true", page.locator("main").inner_html()[:4000]
    said = " ".join(
        page.locator(f"[id='{d}']").inner_text()
        for d in (email.get_attribute("aria-describedby") or "").split()
    )
    assert "@" in said, f"the message should say what is wrong with the address: {said!r}"
    found = axe_audit(page)
    assert not found, "\n\n".join(found)
