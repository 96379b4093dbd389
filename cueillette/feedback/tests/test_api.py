"""The feedback API through the front door: an HTTP client with an API key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from cueillette.apikeys.services import create_api_key
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.feedback.models import FollowUp, Survey

from .conftest import make_member, make_survey

pytestmark = pytest.mark.django_db
BASE = "/api/v1/feedback"


class Api:
    def __init__(self, raw: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}"}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(BASE + path, params or {}, headers=self.headers)

    def patch(self, path: str, body: Any, key: str = "k1") -> Any:
        return self.client.patch(
            BASE + path,
            json.dumps(body),
            content_type="application/json",
            headers={**self.headers, "Idempotency-Key": key},
        )


def _api(org: Organization, scope: str = "write") -> Api:
    cache.clear()
    with tenancy.tenant_context(org):
        _key, raw = create_api_key("Caisse", scope, actor=Actor.system("test"))
    return Api(raw)


def answer(org: Organization, score: int, comment: str = "", **fields: Any) -> Survey:
    with tenancy.tenant_context(org):
        customer, _card = make_member(org)
        survey, _t = make_survey(customer, **fields)
        follow = FollowUp.TO_CONTACT if score <= 6 else FollowUp.NONE
        Survey.objects.filter(pk=survey.pk).update(
            answered_at=timezone.now(), score=score, comment=comment, follow_up=follow
        )
        survey.refresh_from_db()
    return survey


def test_summary_by_month_and_segment(org: Organization) -> None:
    for score in (10, 9, 7, 3):
        answer(org, score, tier_code="gold", came_from="friend")
    api = _api(org, "read")
    response = api.get("/nps", {"months": 6})
    assert response.status_code == 200
    body = response.json()
    assert body["overall"] == {
        "nps": 25, "answers": 4, "promoters": 2, "passives": 1, "detractors": 1
    }  # fmt: skip
    assert len(body["months"]) == 6 and body["months"][-1]["answers"] == 4
    assert body["segments"]["tier"][0]["key"] == "gold"
    assert body["segments"]["came_from"][0] == {
        "key": "friend",
        "label": body["segments"]["came_from"][0]["label"],
        "nps": 25,
        "answers": 4,
        "promoters": 2,
        "passives": 1,
        "detractors": 1,
    }


def test_bad_query_is_an_error_with_code_field_message(org: Organization) -> None:
    api = _api(org, "read")
    response = api.get("/nps", {"months": 0})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "months" and error["code"] == "invalid" and error["message"]
    response = api.get("/responses", {"category": "fans"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "field": "category",
        "message": response.json()["error"]["message"],
    }
    assert api.get("/responses", {"cursor": "!!"}).json()["error"]["field"] == "cursor"


def test_responses_are_paginated_with_a_cursor(org: Organization) -> None:
    made = [answer(org, n % 11, f"avis {n}") for n in range(7)]
    api = _api(org, "read")
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = api.get("/responses", params).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(s.pk for s in made) and len(seen) == len(set(seen))
    detractors = api.get("/responses", {"category": "detractor"}).json()["items"]
    assert {i["score"] for i in detractors} <= set(range(7)) and detractors
    item = detractors[0]
    assert item["follow_up"]["status"] == "to_contact" and item["category"] == "detractor"


def test_update_follow_up(org: Organization) -> None:
    survey = answer(org, 2, "Pas content")
    api = _api(org)
    response = api.patch(f"/responses/{survey.pk}/follow-up", {"status": "contacted", "note": "ok"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["follow_up"]["status"] == "contacted" and body["follow_up"]["note"] == "ok"
    with tenancy.tenant_context(org):
        event = AuditEvent.objects.get(action="feedback.follow_up")
        assert event.actor_kind == "api"
    bad = api.patch(f"/responses/{survey.pk}/follow-up", {"status": "maybe"}, key="k2")
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "status" and bad.json()["error"]["code"] == "invalid"
    missing = api.patch(f"/responses/{survey.pk}/follow-up", {}, key="k3")
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "status"
    with tenancy.tenant_context(org):
        assert Survey.objects.get(pk=survey.pk).follow_up == FollowUp.CONTACTED


def test_a_read_key_cannot_update_and_another_organization_gets_404(
    org: Organization, other_org: Organization
) -> None:
    survey = answer(org, 2)
    reader = _api(org, "read")
    assert (
        reader.patch(f"/responses/{survey.pk}/follow-up", {"status": "resolved"}).status_code == 403
    )
    intruder = _api(other_org)
    response = intruder.patch(f"/responses/{survey.pk}/follow-up", {"status": "resolved"})
    assert response.status_code == 404
    assert intruder.get("/responses").json()["items"] == []
    assert intruder.get("/nps").json()["overall"]["answers"] == 0
    with tenancy.tenant_context(org):
        assert Survey.objects.get(pk=survey.pk).follow_up == FollowUp.TO_CONTACT
