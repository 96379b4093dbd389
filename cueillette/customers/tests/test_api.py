"""The customers API through the front door: HTTP requests with API keys."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from cueillette.apikeys.services import create_api_key, revoke_api_key
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import ApiKey, AuditEvent, IdempotencyRecord, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import ConsentEvent, Customer, CustomerStatus

BASE = "/api/v1"


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    cache.clear()


class Api:
    """A till: an HTTP client that sends its key with every request."""

    def __init__(self, raw_key: str | None, header: str = "Authorization") -> None:
        self.client = Client()
        self.raw_key = raw_key
        self.header = header

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.raw_key is not None:
            if self.header == "Authorization":
                headers["Authorization"] = f"Bearer {self.raw_key}"
            else:
                headers[self.header] = self.raw_key
        headers.update(extra or {})
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get(BASE + path, params or {}, headers=self._headers(headers))

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(
            BASE + path,
            data=json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=self._headers(headers),
        )

    def patch(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.patch(
            BASE + path,
            data=json.dumps(body),
            content_type="application/json",
            headers=self._headers(headers),
        )


def make_key(org: Organization, scope: str = "write", name: str = "Till 1") -> tuple[ApiKey, str]:
    with tenancy.tenant_context(org):
        return create_api_key(name, scope, actor=Actor.system("test"))


@pytest.fixture
def till(org: Organization) -> Api:
    return Api(make_key(org)[1])


@pytest.fixture
def reader(org: Organization) -> Api:
    return Api(make_key(org, scope="read", name="Reader")[1])


def count_customers(org: Organization) -> int:
    with tenancy.tenant_context(org):
        return Customer.objects.count()


def assert_error(response: Any, status: int, code: str, field: str | None = "-") -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    if field != "-":
        assert error["field"] == field
    return error


# --------------------------------------------------------------------------- authentication


@pytest.mark.django_db
def test_missing_key_is_401_json(org: Organization) -> None:
    response = Api(None).get("/customers")
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["nonsense", "cue_abc", "cue_deadbeef_wrongsecret", "Basic abc"])
def test_invalid_key_is_401(org: Organization, raw: str) -> None:
    make_key(org)
    assert_error(Api(raw).get("/customers"), 401, "unauthorized")


@pytest.mark.django_db
def test_right_prefix_wrong_secret_is_401(org: Organization) -> None:
    _key, raw = make_key(org)
    assert_error(Api(raw[:-2] + "xx").get("/customers"), 401, "unauthorized")


@pytest.mark.django_db
def test_revoked_key_is_401(org: Organization) -> None:
    key, raw = make_key(org)
    assert Api(raw).get("/customers").status_code == 200
    with tenancy.tenant_context(org):
        revoke_api_key(key, actor=Actor.system("test"))
    error = assert_error(Api(raw).get("/customers"), 401, "unauthorized")
    assert "revoked" in error["message"] or "révoqu" in error["message"]


@pytest.mark.django_db
def test_x_api_key_header_is_accepted(org: Organization) -> None:
    raw = make_key(org)[1]
    assert Api(raw, header="X-Api-Key").get("/customers").status_code == 200


@pytest.mark.django_db
def test_a_staff_session_is_not_an_api_key(org: Organization, owner_client: Client) -> None:
    response = owner_client.get(f"{BASE}/customers")
    assert_error(response, 401, "unauthorized")


@pytest.mark.django_db
def test_key_is_stored_hashed(org: Organization) -> None:
    key, raw = make_key(org)
    stored = ApiKey.objects.unscoped().get(pk=key.pk)
    assert raw not in stored.hashed_key and stored.hashed_key != raw
    assert re.fullmatch(r"cue_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}", raw)


@pytest.mark.django_db
def test_last_use_is_recorded_at_most_once_a_minute(org: Organization) -> None:
    key, raw = make_key(org)
    till = Api(raw)
    till.get("/customers")
    first = ApiKey.objects.unscoped().get(pk=key.pk).last_used_at
    assert first is not None
    till.get("/customers")
    assert ApiKey.objects.unscoped().get(pk=key.pk).last_used_at == first
    earlier = timezone.now() - timezone.timedelta(minutes=5)
    ApiKey.objects.unscoped().filter(pk=key.pk).update(last_used_at=earlier)
    till.get("/customers")
    assert ApiKey.objects.unscoped().get(pk=key.pk).last_used_at > earlier


@pytest.mark.django_db
def test_read_key_cannot_write(org: Organization, reader: Api, customer: Customer) -> None:
    assert reader.get(f"/customers/{customer.pk}").status_code == 200
    assert_error(reader.post("/customers", {"first_name": "Zoé"}), 403, "forbidden")
    assert_error(reader.patch(f"/customers/{customer.pk}", {"first_name": "Zoé"}), 403, "forbidden")
    assert_error(
        reader.post(f"/customers/{customer.pk}/consents", {"purpose": "loyalty", "granted": True}),
        403,
        "forbidden",
    )
    assert count_customers(org) == 1
    customer.refresh_from_db()
    assert customer.first_name != "Zoé"


@pytest.mark.django_db
def test_rate_limit_answers_429_with_retry_after(org: Organization, settings: Any) -> None:
    settings.API_RATE_LIMIT = 3
    till = Api(make_key(org)[1])
    for _ in range(3):
        assert till.get("/customers").status_code == 200
    response = till.get("/customers")
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another key of the same organization has its own budget.
    assert Api(make_key(org, name="Till 2")[1]).get("/customers").status_code == 200


# --------------------------------------------------------------------------- customers


@pytest.mark.django_db
def test_create_customer(org: Organization, till: Api) -> None:
    response = till.post(
        "/customers",
        {
            "first_name": "Hélène",
            "last_name": "Martin",
            "email": "Helene@Example.org",
            "phone": "06 12 34 56 78",
            "consents": {"loyalty": True, "profiling": False},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "helene@example.org"
    assert body["phone"] == "+33612345678"
    assert body["source"] == "api"
    assert body["consents"] == {"loyalty": "granted", "profiling": "not_given"}
    with tenancy.tenant_context(org):
        events = list(ConsentEvent.objects.filter(customer_id=body["id"]))
        assert [(e.purpose, e.granted, e.source, e.actor_kind) for e in events] == [
            ("loyalty", True, "api", "api")
        ]
        audit = AuditEvent.objects.get(action="customer.created")
        assert audit.actor_kind == "api" and audit.actor_label == "API: Till 1"
        assert "Hélène" not in json.dumps(audit.data)


@pytest.mark.django_db
def test_news_by_email_waits_for_confirmation(
    org: Organization, till: Api, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = till.post(
            "/customers",
            {"first_name": "Léa", "email": "lea@example.org", "consents": {"news_email": True}},
        )
    assert response.status_code == 201
    assert response.json()["consents"] == {"news_email": "pending_confirmation"}
    assert [m.to for m in mailoutbox] == [["lea@example.org"]]
    state = till.get(f"/customers/{response.json()['id']}/consents/current").json()
    news = next(p for p in state["purposes"] if p["purpose"] == "news_email")
    assert news["state"] == "pending_confirmation" and news["granted"] is False


@pytest.mark.django_db
def test_create_with_bad_email_names_the_field(org: Organization, till: Api) -> None:
    response = till.post("/customers", {"first_name": "Paul", "email": "paul.example.org"})
    assert_error(response, 400, "invalid_email", "email")
    assert count_customers(org) == 0


@pytest.mark.django_db
def test_schema_errors_are_422_with_the_field(org: Organization, till: Api, customer: Any) -> None:
    response = till.post(f"/customers/{customer.pk}/consents", {"purpose": "loyalty"})
    assert_error(response, 422, "required", "granted")
    response = till.post("/customers", {"tags": "not a list"})
    assert_error(response, 422, "invalid", "tags")
    assert_error(till.get("/customers", {"limit": 500}), 422, "invalid", "limit")


@pytest.mark.django_db
def test_read_and_update(org: Organization, till: Api, customer: Any) -> None:
    body = till.get(f"/customers/{customer.pk}").json()
    assert body["id"] == customer.pk and body["email"] == customer.email
    response = till.patch(f"/customers/{customer.pk}", {"first_name": "Zoé", "tags": ["thé"]})
    assert response.status_code == 200, response.content
    assert response.json()["first_name"] == "Zoé"
    customer.refresh_from_db()
    assert customer.first_name == "Zoé" and customer.tags == ["thé"]
    assert customer.last_name == body["last_name"]  # untouched: only sent fields change
    assert_error(
        till.patch(f"/customers/{customer.pk}", {"phone": "12"}), 400, "invalid_phone", "phone"
    )


@pytest.mark.django_db
def test_missing_customer_is_404(org: Organization, till: Api) -> None:
    assert_error(till.get("/customers/999999"), 404, "not_found")
    assert_error(till.get("/no-such-route"), 404, "not_found")
    assert_error(till.get("/customers/not-a-number"), 404, "not_found")
    assert_error(till.get("/"), 404, "not_found")


@pytest.mark.django_db
def test_protocol_errors_are_json(org: Organization, till: Api) -> None:
    response = till.client.delete(f"{BASE}/customers", headers=till._headers())
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]
    response = till.client.post(
        f"{BASE}/customers",
        data="{not json",
        content_type="application/json",
        headers=till._headers(),
    )
    assert_error(response, 400, "bad_request")


@pytest.mark.django_db
def test_search(org: Organization, till: Api) -> None:
    target = CustomerFactory(organization=org, first_name="Anaïs", last_name="Lefebvre")
    CustomerFactory(organization=org, first_name="Bruno", last_name="Durand")
    items = till.get("/customers", {"q": "lefeb"}).json()["items"]
    assert [c["id"] for c in items] == [target.pk]
    body = till.get("/customers", {"q": target.email}).json()
    assert [c["id"] for c in body["items"]] == [target.pk] and body["next_cursor"] is None


@pytest.mark.django_db
def test_pagination_walks_every_row_exactly_once(org: Organization, till: Api) -> None:
    ids = {CustomerFactory(organization=org).pk for _ in range(8)}
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = till.get("/customers", params).json()
        seen.extend(c["id"] for c in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if pages == 1:
            # A row added while walking is seen once, at the end.
            ids.add(CustomerFactory(organization=org).pk)
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(ids)
    assert_error(
        till.get("/customers", {"cursor": "!!not-a-cursor"}), 400, "invalid_cursor", "cursor"
    )


@pytest.mark.django_db
def test_merge(org: Organization, till: Api) -> None:
    a = till.post("/customers", {"first_name": "Ana", "email": "ana@example.org"}).json()
    b = till.post(
        "/customers", {"last_name": "Roux", "phone": "0612345600", "consents": {"loyalty": True}}
    ).json()
    response = till.post(f"/customers/{a['id']}/merge", {"other_id": b["id"]})
    assert response.status_code == 200, response.content
    merged = response.json()
    assert merged["last_name"] == "Roux" and merged["email"] == "ana@example.org"
    other = till.get(f"/customers/{b['id']}").json()
    assert other["status"] == CustomerStatus.MERGED and other["merged_into_id"] == a["id"]
    current = till.get(f"/customers/{a['id']}/consents/current").json()["purposes"]
    assert next(p for p in current if p["purpose"] == "loyalty")["state"] == "granted"
    assert_error(till.post(f"/customers/{a['id']}/merge", {"other_id": a["id"]}), 400, "merge_same")
    assert [c["id"] for c in till.get("/customers").json()["items"]] == [a["id"]]


# --------------------------------------------------------------------------- consents


@pytest.mark.django_db
def test_record_list_and_current_consents(org: Organization, till: Api, customer: Any) -> None:
    url = f"/customers/{customer.pk}/consents"
    granted = till.post(url, {"purpose": "loyalty", "granted": True})
    assert granted.status_code == 201, granted.content
    assert granted.json()["result"] == "recorded"
    event = granted.json()["event"]
    assert event["source"] == "api" and event["wording_version"] == 1
    assert len(event["wording_hash"]) == 64 and event["actor_label"] == "API: Till 1"
    again = till.post(url, {"purpose": "loyalty", "granted": True})
    assert again.status_code == 200 and again.json()["result"] == "unchanged"
    withdrawn = till.post(url, {"purpose": "loyalty", "granted": False, "source": "counter"})
    assert withdrawn.status_code == 201

    ledger = till.get(url).json()
    assert [(e["purpose"], e["granted"], e["source"]) for e in ledger["items"]] == [
        ("loyalty", False, "counter"),
        ("loyalty", True, "api"),
    ]
    assert ledger["next_cursor"] is None
    page = till.get(url, {"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = till.get(url, {"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [e["id"] for e in page["items"] + rest["items"]] == [e["id"] for e in ledger["items"]]

    current = {p["purpose"]: p for p in till.get(f"{url}/current").json()["purposes"]}
    assert current["loyalty"]["state"] == "withdrawn" and current["loyalty"]["granted"] is False
    assert current["profiling"]["state"] == "never_asked"
    assert current["loyalty"]["event_id"] == ledger["items"][0]["id"]


@pytest.mark.django_db
def test_consent_errors(org: Organization, till: Api, customer: Any) -> None:
    url = f"/customers/{customer.pk}/consents"
    assert_error(
        till.post(url, {"purpose": "spam", "granted": True}), 400, "unknown_purpose", "purpose"
    )
    assert_error(
        till.post(url, {"purpose": "loyalty", "granted": True, "source": "portal"}),
        400,
        "source_not_allowed",
        "source",
    )
    assert_error(
        till.post(url, {"purpose": "loyalty", "granted": True, "source": "carrier pigeon"}),
        400,
        "unknown_source",
        "source",
    )
    with tenancy.tenant_context(org):
        assert ConsentEvent.objects.count() == 0


@pytest.mark.django_db
def test_news_email_grant_is_pending(
    org: Organization,
    till: Api,
    customer: Any,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = till.post(
            f"/customers/{customer.pk}/consents", {"purpose": "news_email", "granted": True}
        )
    assert response.status_code == 202
    assert response.json() == {"result": "pending_confirmation", "event": None}
    assert len(mailoutbox) == 1


# --------------------------------------------------------------------------- idempotency


@pytest.mark.django_db
def test_same_idempotency_key_and_body_replays(org: Organization, till: Api) -> None:
    body = {"first_name": "Inès", "email": "ines@example.org"}
    first = till.post("/customers", body, **{"Idempotency-Key": "sale-42"})
    assert first.status_code == 201
    # Same content, keys in another order: the same request.
    second = till.post(
        "/customers",
        {"email": "ines@example.org", "first_name": "Inès"},
        **{"Idempotency-Key": "sale-42"},
    )
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert count_customers(org) == 1


@pytest.mark.django_db
def test_same_idempotency_key_other_body_is_409(org: Organization, till: Api) -> None:
    till.post("/customers", {"first_name": "Inès"}, **{"Idempotency-Key": "k1"})
    response = till.post("/customers", {"first_name": "Ivan"}, **{"Idempotency-Key": "k1"})
    assert_error(response, 409, "idempotency_key_reused", "Idempotency-Key")
    assert count_customers(org) == 1


@pytest.mark.django_db
def test_idempotency_keys_are_per_route_and_per_organization(
    org: Organization, other_org: Organization, till: Api
) -> None:
    other_till = Api(make_key(other_org)[1])
    a = till.post("/customers", {"first_name": "A"}, **{"Idempotency-Key": "same"})
    b = other_till.post("/customers", {"first_name": "A"}, **{"Idempotency-Key": "same"})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert "Idempotent-Replayed" not in b
    c = till.post(
        f"/customers/{a.json()['id']}/consents",
        {"purpose": "loyalty", "granted": True},
        **{"Idempotency-Key": "same"},
    )
    assert c.status_code == 201


@pytest.mark.django_db
def test_failed_request_is_not_recorded(org: Organization, till: Api) -> None:
    bad = till.post(
        "/customers", {"last_name": "Roy", "email": "nope"}, **{"Idempotency-Key": "retry-me"}
    )
    assert bad.status_code == 400
    good = till.post(
        "/customers",
        {"last_name": "Roy", "email": "yes@example.org"},
        **{"Idempotency-Key": "retry-me"},
    )
    assert good.status_code == 201
    with tenancy.tenant_context(org):
        assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_patch_is_idempotent_too(org: Organization, till: Api, customer: Any) -> None:
    url = f"/customers/{customer.pk}"
    first = till.patch(url, {"first_name": "Zoé"}, **{"Idempotency-Key": "p1"})
    second = till.patch(url, {"first_name": "Zoé"}, **{"Idempotency-Key": "p1"})
    assert second["Idempotent-Replayed"] == "true" and second.json() == first.json()
    assert_error(
        till.patch(url, {"first_name": "Zed"}, **{"Idempotency-Key": "p1"}),
        409,
        "idempotency_key_reused",
    )


@pytest.mark.django_db
def test_concurrent_duplicate_applies_once(
    org: Organization, till: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests with one key race past the lookup: only one write survives."""
    import cueillette.api as api_module

    body = {"first_name": "Rémi", "email": "remi@example.org"}
    first = till.post("/customers", body, **{"Idempotency-Key": "race"})
    assert first.status_code == 201
    # The second request does not see the first one's record (as if both looked at once).
    monkeypatch.setattr(api_module, "_first_lookup", _miss_once(api_module._first_lookup))
    second = till.post("/customers", body, **{"Idempotency-Key": "race"})
    assert second.status_code == 201
    assert second.json() == first.json()
    assert count_customers(org) == 1
    with tenancy.tenant_context(org):
        assert AuditEvent.objects.filter(action="customer.created").count() == 1


def _miss_once(real: Any) -> Any:
    calls = {"n": 0}

    def find(*args: Any) -> Any:
        calls["n"] += 1
        return None if calls["n"] == 1 else real(*args)

    return find


# --------------------------------------------------------------------------- isolation


@pytest.mark.django_db
def test_another_organizations_key_gets_404_everywhere(
    org: Organization, other_org: Organization
) -> None:
    mine = CustomerFactory(organization=org, first_name="Alice")
    twin = CustomerFactory(organization=org)
    with tenancy.tenant_context(org):
        from cueillette.customers import services

        services.record_consent(mine, "loyalty", True, source="counter", actor=Actor.system())
    theirs = CustomerFactory(organization=other_org)
    intruder = Api(make_key(other_org)[1])
    cid = mine.pk
    calls = [
        intruder.get(f"/customers/{cid}"),
        intruder.patch(f"/customers/{cid}", {"first_name": "Mallory"}),
        intruder.post(f"/customers/{cid}/merge", {"other_id": theirs.pk}),
        intruder.post(f"/customers/{theirs.pk}/merge", {"other_id": cid}),
        intruder.post(f"/customers/{cid}/merge", {"other_id": twin.pk}),
        intruder.get(f"/customers/{cid}/consents"),
        intruder.get(f"/customers/{cid}/consents/current"),
        intruder.post(f"/customers/{cid}/consents", {"purpose": "loyalty", "granted": False}),
    ]
    for response in calls:
        assert_error(response, 404, "not_found")
    listed = intruder.get("/customers").json()["items"]
    assert [c["id"] for c in listed] == [theirs.pk]
    assert intruder.get("/customers", {"q": "Alice"}).json()["items"] == []
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.first_name == "Alice" and mine.status == theirs.status == CustomerStatus.ACTIVE
    with tenancy.tenant_context(org):
        assert ConsentEvent.objects.filter(customer=mine).count() == 1


# --------------------------------------------------------------------------- schema and docs


@pytest.mark.django_db
def test_openapi_schema() -> None:
    response = Client().get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in (
        "/api/v1/customers",
        "/api/v1/customers/{customer_id}",
        "/api/v1/customers/{customer_id}/merge",
        "/api/v1/customers/{customer_id}/consents",
        "/api/v1/customers/{customer_id}/consents/current",
    ):
        assert path in paths
    assert set(paths["/api/v1/customers"]) == {"get", "post"}
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= next(iter(schemes.values())).items()
    # Every $ref points at a defined schema.
    text = json.dumps(schema)
    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text)):
        assert ref in schema["components"]["schemas"]


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a":
            # Links stay on this site (the page's own anchors, the schema, Swagger UI).
            href = found.get("href") or ""
            assert href.startswith(("#", "/", "?")), href
        else:
            for name in ("src", "href"):
                if found.get(name):
                    self.urls.append(found[name] or "")
        if tag == "script" and not found.get("src"):
            self.inline_scripts += 1
        assert "style" not in found
        assert not any(name.startswith("on") for name in found)


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/docs", "/docs?ui=swagger"])
def test_docs_use_only_our_static_files(page: str) -> None:
    response = Client().get(f"{BASE}{page}")
    assert response.status_code == 200
    parser = _Refs()
    parser.feed(response.content.decode())
    assert parser.urls and all(url.startswith("/static/") for url in parser.urls), parser.urls
    assert parser.inline_scripts == 0
    assert "script-src 'self'" in response["Content-Security-Policy"]
    for url in parser.urls:
        assert Client().get(url).status_code == 200, url
