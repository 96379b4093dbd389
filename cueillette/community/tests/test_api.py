"""The community API, through the front door: HTTP requests with API keys."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import get_resolver

from cueillette.accounts.models import User
from cueillette.apikeys.services import create_api_key
from cueillette.community import services
from cueillette.community.models import (
    Action,
    HideReason,
    ModerationEvent,
    Post,
    PostVersion,
    Reply,
)
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer

from .staff_helpers import counts, make_post, member

pytestmark = pytest.mark.django_db

BASE = "/api/v1/community"
_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    cache.clear()


class Till:
    def __init__(self, raw_key: str) -> None:
        self.client = Client()
        self.raw_key = raw_key

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.raw_key}", **(extra or {})}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(BASE + path, params or {}, headers=self._headers())

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(
            BASE + path,
            data=json.dumps(body),
            content_type="application/json",
            headers=self._headers({"Idempotency-Key": f"op-{next(_keys)}"}),
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(BASE + path, headers=self._headers())


def make_key(org: Organization, scope: str = "write") -> str:
    with tenancy.tenant_context(org):
        return create_api_key(f"Till {scope}", scope, actor=Actor.system("test"))[1]


@pytest.fixture
def till(org: Organization) -> Till:
    return Till(make_key(org))


@pytest.fixture
def post(tenant: Organization, customer: Customer) -> Post:
    return make_post(customer)


def error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert "error" in body, body
    return dict(body["error"])


# --------------------------------------------------------------------------- reading


def test_list_filters_and_cursor(till: Till, tenant: Organization, customer: Customer) -> None:
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    made = [
        make_post(
            customer,
            kind="review",
            text=f"Très bien, merci {i}",
            rating=5,
            now=now - dt.timedelta(hours=i),
        )
        for i in range(5)
    ]
    question = make_post(customer, kind="question", text="Ouvert dimanche ?", rating=None)
    first = till.get("/posts", {"limit": 2})
    assert first.status_code == 200
    body = first.json()
    assert [p["id"] for p in body["items"]] == [question.pk, made[0].pk]
    seen = [p["id"] for p in body["items"]]
    cursor = body["next_cursor"]
    while cursor:
        page = till.get("/posts", {"limit": 2, "cursor": cursor}).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [question.pk, *[p.pk for p in made]]
    kinds = till.get("/posts", {"kind": "question"}).json()["items"]
    assert [p["id"] for p in kinds] == [question.pk]
    assert till.get("/posts", {"unanswered": "true"}).json()["items"][0]["replies_count"] == 0
    bad = till.get("/posts", {"kind": "rant"})
    assert bad.status_code == 400 and error(bad)["field"] == "kind"


def test_get_one_with_versions_replies_events(
    till: Till, post: Post, customer: Customer, owner: User
) -> None:
    services.edit_post(post, customer, text="Lent, mais le personnel était aimable.")
    services.reply(post, member(owner), text="Merci, nous ajoutons une caisse.")
    response = till.get(f"/posts/{post.pk}")
    assert response.status_code == 200
    body = response.json()
    assert [v["number"] for v in body["versions"]] == [1, 2]
    assert body["versions"][0]["text"].startswith("Le service")
    assert body["replies"][0]["author_role"] == "owner"
    assert [e["action"] for e in body["events"]] == ["reply"]
    assert body["author_customer_id"] == customer.pk
    assert till.get("/posts/999999").status_code == 404


def test_another_organizations_post_is_not_found(
    other_org: Organization, till: Till, post: Post
) -> None:
    other = Till(make_key(other_org))
    assert other.get(f"/posts/{post.pk}").status_code == 404
    before = counts()
    assert other.post(f"/posts/{post.pk}/hide", {"reason": "hate"}).status_code == 404
    assert other.post(f"/posts/{post.pk}/replies", {"text": "Hello"}).status_code == 404
    assert counts() == before


# --------------------------------------------------------------------------- writing


def test_reply_status_acknowledge_link_themes(till: Till, post: Post, tenant: Organization) -> None:
    record = CustomerFactory(organization=tenant)
    r = till.post(f"/posts/{post.pk}/replies", {"text": "Nous sommes désolés."})
    assert r.status_code == 201
    assert r.json()["replies"][0]["author_role"] == "api"
    r = till.post(f"/posts/{post.pk}/acknowledge", {"note": "Notre erreur."})
    assert (
        r.status_code == 200 and r.json()["acknowledged"] and r.json()["status"] == "acknowledged"
    )
    r = till.post(f"/posts/{post.pk}/status", {"status": "resolved", "note": "Réglé"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    r = till.post(f"/posts/{post.pk}/customer", {"customer_id": record.pk})
    assert r.status_code == 200 and r.json()["linked_customer_id"] == record.pk
    r = till.post(f"/posts/{post.pk}/themes", {"themes": ["waiting"]})
    assert r.status_code == 200 and r.json()["themes"] == ["waiting"]
    actions = [e.action for e in ModerationEvent.objects.filter(post=post).order_by("id")]
    assert actions == [
        Action.REPLY,
        Action.ACKNOWLEDGE,
        Action.STATUS_CHANGE,
        Action.STATUS_CHANGE,
        Action.LINK_CUSTOMER,
        Action.TAG,
    ]
    assert set(ModerationEvent.objects.values_list("actor_role", flat=True)) == {"api"}
    labels = set(AuditEvent.objects.filter(action__startswith="community.").exclude(
        action="community.post_created").values_list("actor_label", flat=True))  # fmt: skip
    assert labels == {"API: Till write"}
    bad = till.post(f"/posts/{post.pk}/status", {"status": "closed"})
    assert bad.status_code == 400 and error(bad)["field"] == "status"
    # Themes come from the organization's list only.
    bad = till.post(f"/posts/{post.pk}/themes", {"themes": ["waiting", "parking"]})
    assert bad.status_code == 400
    assert (error(bad)["field"], error(bad)["code"]) == ("themes", "unknown_theme")
    post.refresh_from_db()
    assert post.themes == ["waiting"]
    missing = till.post(f"/posts/{post.pk}/customer", {"customer_id": 999999})
    assert missing.status_code == 404 and error(missing)["field"] == "customer_id"


@pytest.mark.parametrize("reason", ["negative", "bad_review", "", "Spam", "rude", "other"])
def test_hide_with_an_unlisted_reason_is_400_on_reason(reason: str, till: Till, post: Post) -> None:
    before = counts()
    response = till.post(f"/posts/{post.pk}/hide", {"reason": reason})
    assert response.status_code == 400
    assert error(response)["field"] == "reason"
    assert error(response)["code"] == "unknown_reason"
    assert counts() == before
    post.refresh_from_db()
    assert not post.hidden


def test_hide_without_reason_is_refused(till: Till, post: Post) -> None:
    before = counts()
    response = till.post(f"/posts/{post.pk}/hide", {"note": "no reason"})
    assert response.status_code in {400, 422}
    assert error(response)["field"] == "reason"
    assert counts() == before


def test_hide_restore_and_appeal_pending(till: Till, post: Post, customer: Customer) -> None:
    text = post.text
    r = till.post(
        f"/posts/{post.pk}/hide",
        {"reason": HideReason.PERSONAL_DATA, "note": "Nom", "passage": text[:12]},
    )
    assert r.status_code == 200 and r.json()["hidden"] and r.json()["text"] == text
    # The public placeholder says the business's software hid it, not "a staff member".
    org = post.organization
    page = Client().get(f"/o/{org.slug}/community/{post.pk}/?lang=en").content.decode()
    assert "the business&#x27;s software" in page or "the business's software" in page
    again = till.post(f"/posts/{post.pk}/hide", {"reason": HideReason.HATE})
    assert again.status_code == 409
    r = till.post(f"/posts/{post.pk}/restore", {})
    assert r.status_code == 200 and not r.json()["hidden"]
    till.post(
        f"/posts/{post.pk}/hide", {"reason": HideReason.SPAM_ADVERTISING, "passage": text[:12]}
    )
    services.appeal(post, customer, text="Ce n'est pas de la publicité.")
    blocked = till.post(f"/posts/{post.pk}/restore", {})
    assert blocked.status_code == 409 and error(blocked)["code"] == "appeal_pending"
    log = till.get("/moderation-log", {"post_id": post.pk}).json()["items"]
    assert [e["action"] for e in log] == ["hide", "restore", "hide", "appeal"]
    assert log[0]["reason"] == "personal_data" and log[0]["actor_role"] == "api"
    hides = till.get("/moderation-log", {"action": "hide", "limit": 1}).json()
    assert len(hides["items"]) == 1 and hides["next_cursor"]


def test_read_key_cannot_write(org: Organization, post: Post) -> None:
    reader = Till(make_key(org, "read"))
    assert reader.get("/posts").status_code == 200
    before = counts()
    response = reader.post(f"/posts/{post.pk}/hide", {"reason": "hate"})
    assert response.status_code == 403
    assert counts() == before


def test_no_key_no_access(post: Post) -> None:
    assert Client().get(BASE + "/posts").status_code == 401


# --------------------------------------------------------------------------- no delete


def _community_api_routes() -> list[tuple[str, set[str]]]:
    from cueillette.api import api, mount_routers

    mount_routers()
    routes = []
    for prefix, router in api._routers:
        if not prefix.strip("/").startswith("community"):
            continue
        for path, path_view in router.path_operations.items():
            methods: set[str] = set()
            for operation in path_view.operations:
                methods.update(operation.methods)
            routes.append((prefix + path, methods))
    return routes


def test_no_delete_method_on_any_community_route(till: Till, post: Post) -> None:
    get_resolver()  # the API is mounted with the URLs
    routes = _community_api_routes()
    assert len(routes) >= 10
    for path, methods in routes:
        assert "DELETE" not in methods, path
        assert not ({"PUT", "PATCH"} & methods), path
    before = counts()
    for path in (f"/posts/{post.pk}", "/posts", f"/posts/{post.pk}/replies", "/moderation-log"):
        assert till.delete(path).status_code == 405, path
    assert counts() == before


def test_models_refuse_delete(post: Post, owner: User) -> None:
    reply = services.reply(post, member(owner), text="Merci")
    with pytest.raises(ValueError):
        post.delete()
    with pytest.raises(ValueError):
        reply.delete()
    with pytest.raises(ValueError):
        ModerationEvent.objects.filter(post=post).first().delete()  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        PostVersion.objects.filter(post=post).first().delete()  # type: ignore[union-attr]
    assert Post.objects.filter(pk=post.pk).exists() and Reply.objects.filter(pk=reply.pk).exists()
