"""What the schema promises and every answer keeps: the rate-limit headers, the errors in the
language of the key's business, the schema refusing what the services refuse."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from cueillette.core.models import Organization
from cueillette.customers.tests.test_api import Api, assert_error, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    cache.clear()


def test_answers_say_the_limit_and_what_is_left(org: Organization, settings: Any) -> None:
    settings.API_RATE_LIMIT = 3
    till = Api(make_key(org)[1])
    remaining = []
    for _ in range(3):
        response = till.get("/customers")
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "3"
        remaining.append(int(response["X-RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    refused = till.get("/customers")
    assert_error(refused, 429, "rate_limited")
    assert refused["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Errors after authentication carry the headers too.
    settings.API_RATE_LIMIT = 100
    cache.clear()
    missing = till.get("/customers/999999")
    assert_error(missing, 404, "not_found")
    assert missing["X-RateLimit-Remaining"] == "99"


def test_errors_speak_the_language_of_the_keys_business(
    org: Organization, other_org: Organization
) -> None:
    other_org.language = "en"
    other_org.save()
    french = Api(make_key(org)[1])
    english = Api(make_key(other_org)[1])
    # A business rule (the service's message)...
    fr_error = assert_error(french.post("/customers", {"email": "x@example.net"}), 400, "required")
    en_error = assert_error(english.post("/customers", {"email": "x@example.net"}), 400, "required")
    assert fr_error["message"] == "un prénom ou un nom est obligatoire"
    assert en_error["message"] == "a first or last name is required"
    # ... a schema breach (pydantic's messages are English only: worded by us) ...
    fr_422 = assert_error(
        french.post("/purchases", {"amount": "1", "receipt_id": []}), 422, "invalid"
    )
    en_422 = assert_error(
        english.post("/purchases", {"amount": "1", "receipt_id": []}), 422, "invalid"
    )
    assert fr_422["message"] == "receipt_id doit être du texte"
    assert en_422["message"] == "receipt_id must be text"
    missing_fr = assert_error(french.post("/customers/1/consents", {}), 422, "required")
    assert missing_fr["message"] == "purpose\u00a0: champ obligatoire"
    # ... whatever the browser's language says (the key decides, not Accept-Language).
    response = english.client.get(
        "/api/v1/customers/999999",
        headers={"Authorization": f"Bearer {english.raw_key}", "Accept-Language": "fr"},
    )
    assert response.json()["error"]["message"] == "not found"


def test_a_schema_error_lists_every_field_at_fault(org: Organization) -> None:
    till = Api(make_key(org)[1])
    body = till.post("/purchases", {"amount": [], "receipt_id": {}}).json()["error"]
    assert {e["field"] for e in body["errors"]} >= {"amount", "receipt_id"}
    assert (body["code"], body["field"]) == (body["errors"][0]["code"], body["errors"][0]["field"])


def test_no_two_api_schemas_share_a_name() -> None:
    """OpenAPI names a component after its class: two ``SegmentsOut`` in two apps would merge
    into one, and one of the two operations would then promise the other's body."""
    import importlib

    from django.urls import get_resolver
    from ninja import Schema

    get_resolver().url_patterns  # import every router
    importlib.import_module("cueillette.api")

    def walk(cls: type) -> list[type]:
        found = []
        for sub in cls.__subclasses__():
            found.append(sub)
            found.extend(walk(sub))
        return found

    ours = [
        c
        for c in walk(Schema)
        if c.__module__.startswith("cueillette.") and ".tests" not in c.__module__
    ]
    by_name: dict[str, set[str]] = {}
    for cls in ours:
        by_name.setdefault(cls.__name__, set()).add(f"{cls.__module__}.{cls.__qualname__}")
    twice = {name: sorted(where) for name, where in by_name.items() if len(where) > 1}
    assert not twice, f"schemas named twice (rename one): {twice}"
