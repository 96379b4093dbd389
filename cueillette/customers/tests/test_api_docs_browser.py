"""The API docs page works in a real browser under our strict CSP, with no third party."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"


def test_swagger_ui_renders_under_the_csp(live_server: Any) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make system-deps)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    from playwright.sync_api import sync_playwright

    origin = live_server.url.rstrip("/")
    refused: list[str] = []
    third_party: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()

            def route(r: Any) -> None:
                url = r.request.url
                parts = urlsplit(url)
                if not url.startswith("data:") and f"{parts.scheme}://{parts.netloc}" != origin:
                    third_party.append(url)
                    r.abort("blockedbyclient")
                else:
                    r.continue_()

            page.route("**/*", route)
            page.on(
                "console",
                lambda m: (
                    refused.append(m.text)
                    if "Refused to" in m.text or "Content Security Policy" in m.text
                    else None
                ),
            )
            page.on("pageerror", lambda e: errors.append(str(e)))
            response = page.goto(origin + "/api/v1/docs?ui=swagger")
            assert response is not None and response.status == 200
            # Swagger UI fetched the schema and drew the customers operations.
            page.get_by_text("/api/v1/customers/{customer_id}/merge").first.wait_for(timeout=15_000)
            assert page.locator(".opblock").count() >= 7
        finally:
            browser.close()
    assert not third_party, third_party
    assert not refused, refused
    assert not errors, errors
