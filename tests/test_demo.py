"""`make demo` shows the product as people will see it (issue 10, items 9 and 18)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent


def _dry_run(*args: str) -> str:
    # make -n prints the recipe with make's own variables expanded and runs nothing.
    return subprocess.run(
        ["make", "-s", "-n", "demo", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_demo_runs_without_debug_unless_asked() -> None:
    assert 'CUEILLETTE_DEBUG="0"' in _dry_run()
    assert 'CUEILLETTE_DEBUG="1"' in _dry_run("DEBUG=1")


def test_demo_takes_host_and_port() -> None:
    recipe = _dry_run("PORT=8080", "HOST=0.0.0.0")
    assert "runserver --noreload 0.0.0.0:8080" in recipe
    assert 'host="0.0.0.0"' in recipe  # becomes an allowed host, with the machine's addresses
    readme = (ROOT / "README.md").read_text()
    assert "make demo PORT=8080" in readme and "HOST=" in readme


@pytest.mark.django_db
def test_the_products_own_404_page_with_debug_off(settings) -> None:
    settings.DEBUG = False  # what make demo runs with now
    response = Client().get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Cueillette" in html and 'href="/static/web/css/app.css"' in html
    assert "URLconf" not in html and "urlpatterns" not in html  # not Django's technical page


def test_the_acupuncture_demo_keeps_conditions_in_care_notes() -> None:
    from cueillette.customers import care
    from cueillette.customers.demo import PRACTICE, SHOP

    # Interests feed offers: none of the demo's reads like health data any more ...
    assert care.health_like(PRACTICE.tags + SHOP.tags) == []
    # ... pregnancy, smoking and migraines are care notes (load_demo writes them, a third of
    # the practice's patients).
    notes = " ".join(PRACTICE.care_notes).lower()
    assert "grossesse" in notes and "tabagique" in notes and "migraines" in notes
    assert all(care.health_like([n]) for n in PRACTICE.care_notes)
