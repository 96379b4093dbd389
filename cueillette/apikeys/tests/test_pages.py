"""API key pages: who may see them, the key shown once, revocation, audit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from cueillette.apikeys.scopes import TEXTS
from cueillette.apikeys.services import create_api_key
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import ApiKey, AuditEvent, Organization

KEY_RE = re.compile(r"cue_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    cache.clear()


def api_get(raw: str, path: str = "/api/v1/customers") -> Any:
    return Client().get(path, headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})


def words(response: Any, scope: str) -> str:
    """How the page names a permission, in the page's language."""
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        return str(TEXTS[scope].name)


@pytest.mark.django_db
def test_empty_list_says_what_to_do(owner_client: Client) -> None:
    response = owner_client.get("/app/api-keys/")
    assert response.status_code == 200
    assert b"data-copy" not in response.content
    assert "/app/api-keys/new/" in response.content.decode()


@pytest.mark.django_db
def test_counter_staff_cannot_manage_keys(counter_client: Client) -> None:
    assert counter_client.get("/app/api-keys/").status_code == 403
    assert (
        counter_client.post(
            "/app/api-keys/new/", {"name": "x", "scopes": ["loyalty:read"]}
        ).status_code
        == 403
    )


@pytest.mark.django_db
def test_anonymous_is_sent_to_login() -> None:
    response = Client().get("/app/api-keys/")
    assert response.status_code == 302 and "/accounts/" in response["Location"]


TILL = ["consents:write", "customers:read", "customers:write", "loyalty:write"]


@pytest.mark.django_db
def test_create_shows_the_key_once_and_it_works(org: Organization, manager_client: Client) -> None:
    form = manager_client.get("/app/api-keys/new/")
    assert form.status_code == 200
    assert b"checked" not in form.content  # nothing is pre-ticked
    assert b'value="feedback:manage"' in form.content
    response = manager_client.post("/app/api-keys/new/", {"name": "Front till", "scopes": TILL})
    assert response.status_code == 200
    html = response.content.decode()
    raw = KEY_RE.search(html).group(0)  # type: ignore[union-attr]
    assert 'data-copy="#new-key"' in html
    assert words(response, "consents:write") in html
    assert words(response, "community:moderate") not in html
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]

    key = ApiKey.objects.unscoped().get(organization=org)
    assert key.name == "Front till" and key.scopes == TILL
    assert raw not in key.hashed_key and raw.split("_")[2] not in key.hashed_key

    # The list shows the prefix and the permissions, never the key.
    page = manager_client.get("/app/api-keys/")
    listing = page.content.decode()
    assert "Front till" in listing and key.prefix in listing and raw not in listing
    assert words(page, "customers:write") in listing
    assert words(page, "feedback:manage") not in listing

    assert api_get(raw).status_code == 200
    # A permission the key was not given: 403 naming it.
    refused = api_get(raw, "/api/v1/feedback/responses")
    assert refused.status_code == 403
    with translation.override(org.language):
        message = _("this key lacks the permission %(scope)s") % {"scope": "feedback:read"}
    assert refused.json()["error"] == {"code": "forbidden", "field": None, "message": message}
    with tenancy.tenant_context(org):
        event = AuditEvent.objects.get(action="api_key.created")
        assert event.data == {"prefix": key.prefix, "scopes": TILL}
        assert raw not in str(event.data)


@pytest.mark.django_db
def test_a_preset_ticks_boxes_without_creating(org: Organization, owner_client: Client) -> None:
    response = owner_client.post("/app/api-keys/new/", {"name": "Till", "preset": "till"})
    assert response.status_code == 200
    html = response.content.decode()
    assert not ApiKey.objects.unscoped().filter(organization=org).exists()
    ticked = set(re.findall(r'value="([a-z]+:[a-z]+)" checked', html))
    assert ticked == {
        "customers:read", "customers:write", "consents:write",
        "loyalty:read", "loyalty:write", "referrals:write",
    }  # fmt: skip
    assert 'value="Till"' in html  # the name typed so far is kept


@pytest.mark.django_db
def test_create_errors_name_the_field(org: Organization, owner_client: Client) -> None:
    response = owner_client.post("/app/api-keys/new/", {"name": "  ", "scopes": TILL})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and 'id="key-name-error"' in html
    response = owner_client.post("/app/api-keys/new/", {"name": "Till", "scopes": ["admin:all"]})
    assert response.status_code == 400 and 'id="key-scopes-error"' in response.content.decode()
    response = owner_client.post("/app/api-keys/new/", {"name": "Till"})
    assert response.status_code == 400
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        expected = _("choose at least one permission: what may this key do?")
    assert escape(expected) in response.content.decode()
    # Both mistakes at once are both shown.
    response = owner_client.post("/app/api-keys/new/", {"name": ""})
    html = response.content.decode()
    assert 'id="key-name-error"' in html and 'id="key-scopes-error"' in html
    assert not ApiKey.objects.unscoped().filter(organization=org).exists()


@pytest.mark.django_db
def test_revoke(org: Organization, owner_client: Client) -> None:
    with tenancy.tenant_context(org):
        key, raw = create_api_key("Till", "read", actor=Actor.system())
    api_get(raw)
    assert owner_client.get(f"/app/api-keys/{key.pk}/revoke/").status_code == 405
    response = owner_client.post(f"/app/api-keys/{key.pk}/revoke/")
    assert response.status_code == 302
    assert api_get(raw).status_code == 401
    key.refresh_from_db()
    assert key.revoked_at is not None
    listing = owner_client.get("/app/api-keys/").content.decode()
    assert "Till" in listing and f"/app/api-keys/{key.pk}/revoke/" not in listing
    # Revoking again changes nothing.
    owner_client.post(f"/app/api-keys/{key.pk}/revoke/")
    with tenancy.tenant_context(org):
        assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


@pytest.mark.django_db
def test_last_use_is_visible(org: Organization, owner_client: Client) -> None:
    with tenancy.tenant_context(org):
        key, raw = create_api_key("Till", "read", actor=Actor.system())
    before = owner_client.get("/app/api-keys/").content.decode()
    assert before.count("<time ") == 1  # created; never used
    api_get(raw)
    key.refresh_from_db()
    assert key.last_used_at is not None
    after = owner_client.get("/app/api-keys/").content.decode()
    assert after.count("<time ") == 2


@pytest.mark.django_db
def test_another_organizations_key_cannot_be_revoked(
    org: Organization, other_org: Organization, owner_client: Client
) -> None:
    with tenancy.tenant_context(other_org):
        key, raw = create_api_key("Their till", "write", actor=Actor.system())
    assert owner_client.post(f"/app/api-keys/{key.pk}/revoke/").status_code == 404
    assert "Their till" not in owner_client.get("/app/api-keys/").content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None
    assert api_get(raw).status_code == 200
