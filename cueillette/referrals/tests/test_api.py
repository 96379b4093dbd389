"""The referral API through the front door: HTTP with API keys, the one error format."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from cueillette.apikeys.services import create_api_key
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.loyalty import services as loyalty
from cueillette.referrals import services
from cueillette.referrals.models import Referral

BASE = "/api/v1/referrals"
_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    cache.clear()


class Api:
    def __init__(self, raw: str) -> None:
        self.client = Client()
        self.auth = {"Authorization": f"Bearer {raw}"}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(BASE + path, params or {}, headers=self.auth)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(
            BASE + path,
            data=json.dumps(body),
            content_type="application/json",
            headers={**self.auth, "Idempotency-Key": f"ref-{next(_keys)}"},
        )


@pytest.fixture
def api(org: Organization) -> Api:
    with tenancy.tenant_context(org):
        return Api(create_api_key("Till", "write", actor=Actor.system("test"))[1])


@pytest.fixture
def people(org: Organization) -> dict[str, Any]:
    with tenancy.tenant_context(org):
        loyalty.get_program()
        a = CustomerFactory(organization=org)
        b = CustomerFactory(organization=org)
        loyalty.join_program(a, actor=Actor.system("t"))
        card_b = loyalty.join_program(b, actor=Actor.system("t"))
        return {"a": a, "b": b, "card_b": card_b, "code": services.code_for(a).code}


def err(response: Any, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.content
    e = response.json()["error"]
    assert (e["code"], e["field"]) == (code, field) and e["message"]


def test_record_by_code_then_read_and_list(api: Api, org: Organization, people: Any) -> None:
    r = api.post("", {"code": people["code"].lower(), "friend_id": people["b"].pk})
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["referrer_id"] == people["a"].pk and data["source"] == "code"
    assert data["status"] == "pending" and data["flags"] == []
    again = api.post("", {"referrer_id": people["a"].pk, "friend_id": people["b"].pk})
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    assert api.get(f"/{data['id']}").json()["id"] == data["id"]
    page = api.get("", {"limit": 1})
    assert [x["id"] for x in page.json()["items"]] == [data["id"]]
    with tenancy.tenant_context(org):
        loyalty.record_purchase(people["card_b"], amount="30", actor=Actor.system("t"))
    got = api.get(f"/{data['id']}").json()
    assert got["status"] == "confirmed" and got["referrer_points"] == 100
    adv = api.get("/advocates").json()["items"]
    assert adv[0]["customer_id"] == people["a"].pk and adv[0]["reach"] == 1
    assert adv[0]["direct_revenue"] == "30.00"
    one = api.get(f"/advocates/{people['a'].pk}").json()
    assert one["direct"] == 1


def test_bad_input_writes_nothing(api: Api, org: Organization, people: Any) -> None:
    err(
        api.post("", {"code": "NOPE2345", "friend_id": people["b"].pk}),
        404,
        "unknown_referral_code",
        "code",
    )
    err(
        api.post("", {"referrer_id": people["a"].pk, "friend_id": people["a"].pk}),
        400,
        "self_referral",
        "friend",
    )
    err(
        api.post("", {"referrer_id": 999999, "friend_id": people["b"].pk}),
        404,
        "not_found",
        "referrer_id",
    )
    err(api.post("", {"friend_id": people["b"].pk}), 400, "invalid", "referrer_id")
    err(
        api.post("", {"referrer_id": people["a"].pk, "friend_id": people["b"].pk, "source": "x"}),
        400,
        "invalid",
        "source",
    )
    err(api.get("/424242"), 404, "not_found", "id")
    err(api.get("/advocates", {"sort": "bogus"}), 400, "invalid", "sort")
    with tenancy.tenant_context(org):
        assert Referral.objects.count() == 0


def test_confirm_and_reject_flagged(api: Api, org: Organization, people: Any) -> None:
    with tenancy.tenant_context(org):
        loyalty.record_purchase(people["card_b"], amount="5", actor=Actor.system("t"))
    r = api.post("", {"referrer_id": people["a"].pk, "friend_id": people["b"].pk}).json()
    assert "existing" in r["flags"] and r["under_review"]
    err(api.post(f"/{r['id']}/reject", {}), 400, "reason_required", "reason")
    ok = api.post(f"/{r['id']}/reject", {"reason": "regular customer"})
    assert ok.status_code == 200 and ok.json()["status"] == "rejected"
    err(api.post(f"/{r['id']}/confirm", {"reason": "x"}), 409, "referral_not_pending", "referral")
    flagged = api.get("", {"under_review": "true"}).json()["items"]
    assert flagged == []


def test_other_org_referral_is_404(api: Api, other_org: Organization) -> None:
    with tenancy.tenant_context(other_org):
        a = CustomerFactory(organization=other_org)
        b = CustomerFactory(organization=other_org)
        r = services.record_referral(a, b, source="counter", actor=Actor.system("t"))
        code = services.code_for(a).code
    err(api.get(f"/{r.pk}"), 404, "not_found", "id")
    err(api.post("", {"code": code, "friend_id": b.pk}), 404, "not_found", "friend_id")
