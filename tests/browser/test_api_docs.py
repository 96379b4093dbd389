"""The API reference at /api/v1/docs: accessible (axe), light, and Swagger UI one link away."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest

from .conftest import PHONE, Site, axe_audit, login, visit

pytestmark = pytest.mark.browser


def _load_seconds(page: Any, url: str, ready: str) -> float:
    """From navigation to the operations drawn on screen (median of three warm loads)."""
    page.goto(url)  # warm the server's caches and the browser's static files
    page.locator(ready).first.wait_for()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        page.goto(url)
        page.locator(ready).first.wait_for()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_the_reference_passes_axe_for_a_visitor_and_on_a_phone(site: Site, db: None) -> None:
    for label, page in (
        ("desktop fr", site.new_page()),
        ("phone en", site.new_page(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")),
    ):
        visit(page, site("/api/v1/docs"))
        assert (
            page.locator("h1")
            .first.inner_text()
            .startswith("Référence de l'API" if label.endswith("fr") else "API reference")
        )
        assert page.locator("article.apiref-op").count() > 30
        found = axe_audit(page)
        assert not found, f"{label}:\n" + "\n\n".join(found)


def test_the_reference_passes_axe_for_staff(site: Site, boss: Any) -> None:
    page = site.new_page()
    login(page, site, boss.email)
    visit(page, site("/api/v1/docs"))
    found = axe_audit(page)
    assert not found, "\n\n".join(found)


def test_the_reference_is_lighter_than_swagger_and_links_to_it(site: Site, db: None) -> None:
    page = site.new_page()
    visit(page, site("/api/v1/docs"))
    page.get_by_role("link", name="Swagger UI").first.click()
    page.locator(".opblock").first.wait_for(timeout=20_000)
    assert "ui=swagger" in page.url
    swagger = _load_seconds(page, site("/api/v1/docs?ui=swagger"), ".opblock")
    reference = _load_seconds(page, site("/api/v1/docs"), "article.apiref-op")
    print(
        f"RESULT api docs load: reference {reference:.2f} s, swagger {swagger:.2f} s, "
        f"ratio {reference / swagger:.2f}"
    )
    assert reference < swagger


def test_swagger_ui_is_themed_to_pass_axe_too(site: Site, db: None) -> None:
    """Our colours over Swagger's, and no deep links nested in its toggle buttons."""
    page = site.new_page()
    visit(page, site("/api/v1/docs?ui=swagger"))
    page.locator(".opblock").first.wait_for(timeout=20_000)
    found = axe_audit(page)
    assert not found, "\n\n".join(found)
