"""The printable poster and its QR code."""

from __future__ import annotations

import pytest
from django.test import Client

from cueillette.core.models import Organization

pytestmark = pytest.mark.django_db


def test_poster_page_is_printable_with_the_join_url(
    client: Client, org: Organization, settings
) -> None:
    settings.SITE_URL = "https://crm.example.org"
    response = client.get(f"/o/{org.slug}/poster/")
    assert response.status_code == 200
    html = response.content.decode()
    assert org.name in html
    assert f"crm.example.org/o/{org.slug}/join/" in html
    assert f'src="/o/{org.slug}/poster/qr.svg"' in html
    assert "data-print" in html
    assert "<script>" not in html and "style=" not in html


def test_poster_qr_is_svg(client: Client, org: Organization) -> None:
    response = client.get(f"/o/{org.slug}/poster/qr.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    body = response.content.decode()
    assert body.startswith("<svg") and "<path" in body
