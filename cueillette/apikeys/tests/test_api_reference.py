"""/api/v1/docs: the reference page rendered on the server from the OpenAPI schema."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_reference_lists_every_operation_with_its_errors(client: Client) -> None:
    schema = json.loads(client.get("/api/v1/openapi.json").content)
    response = client.get("/api/v1/docs", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    for path, operations in schema["paths"].items():
        for method in operations:
            assert f'<code class="apiref-path">{path}</code>' in html, (method, path)
    assert html.count('class="card apiref-op"') == sum(len(o) for o in schema["paths"].values())
    # The shared contract is stated once: errors, rate limit, Idempotency-Key.
    assert 'id="errors"' in html and "Retry-After" in html and "Idempotency-Key" in html
    assert "at least one of: first_name, last_name" in html
    assert "exactly one of: card_number, customer_id" in html
    # A page of our own: no Swagger bundle, Swagger one link away.
    assert "swagger-ui-bundle.js" not in html
    assert 'href="?ui=swagger"' in html
    assert not re.search(r"<script(?![^>]*src=)", html)  # no inline script (CSP)


def test_the_reference_speaks_french_and_marks_the_english_schema(client: Client) -> None:
    html = client.get("/api/v1/docs", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="fr">' in html
    assert "<h1>Référence de l" in html
    assert 'class="card apiref-op" id="get--api-v1-customers" aria-labelledby' in html
    assert re.search(r'id="get--api-v1-customers"[^>]*lang="en"', html)


def test_swagger_stays_available(client: Client) -> None:
    html = client.get("/api/v1/docs?ui=swagger").content.decode()
    assert "swagger-ui-bundle.js" in html
