"""The events API through the front door: an HTTP client with an API key."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from cueillette.apikeys.services import create_api_key
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.events.models import Registration, Session
from cueillette.events.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/events"


class Api:
    def __init__(self, raw: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw}"}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(BASE + path, params or {}, headers=self.headers)

    def post(self, path: str, body: Any = None, key: str = "k1") -> Any:
        return self.client.post(
            BASE + path,
            json.dumps(body or {}),
            content_type="application/json",
            headers={**self.headers, "Idempotency-Key": key},
        )

    def patch(self, path: str, body: Any, key: str = "p1") -> Any:
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


def test_offer_a_session_then_register_and_check_in(org: Organization) -> None:
    api = _api(org)
    starts = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)
    res = api.post(
        "/sessions",
        {
            "title": "Atelier cuisine",
            "starts_at": starts.isoformat(),
            "capacity": 1,
            "location": "La cuisine du magasin",
            "points_for_attending": 5,
            "price": "12.50",
        },
        key="s1",
    )
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["capacity"] == 1 and body["price"] == "12.50" and body["seats_taken"] == 0
    session_id = body["id"]
    with tenancy.tenant_context(org):
        a = CustomerFactory(organization=org)
        b = CustomerFactory(organization=org)
    first = api.post(f"/sessions/{session_id}/registrations", {"customer_id": a.pk}, key="r1")
    assert first.status_code == 201 and first.json()["status"] == "confirmed"
    # The same request again (a retried till): the first answer, nothing applied twice.
    again = api.post(f"/sessions/{session_id}/registrations", {"customer_id": a.pk}, key="r1")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    dup = api.post(f"/sessions/{session_id}/registrations", {"customer_id": a.pk}, key="r2")
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "already_registered"
    second = api.post(f"/sessions/{session_id}/registrations", {"customer_id": b.pk}, key="r3")
    assert second.json()["status"] == "waitlisted" and second.json()["waitlist_position"] == 1
    reg_id = first.json()["id"]
    checked = api.post(f"/registrations/{reg_id}/check-in", key="c1")
    assert checked.status_code == 200
    assert checked.json()["registration"]["status"] == "attended"
    assert checked.json()["already"] is False
    listing = api.get(f"/sessions/{session_id}/registrations")
    assert [r["status"] for r in listing.json()["items"]] == ["attended", "waitlisted"]


def test_errors_name_the_field(org: Organization) -> None:
    api = _api(org)
    res = api.post(
        "/sessions",
        {
            "title": "En ligne",
            "starts_at": (timezone.now() + dt.timedelta(days=1)).isoformat(),
            "capacity": 5,
            "mode": "online",
            "video_url": "http://pas-sur.example",
        },
    )
    assert res.status_code == 400
    assert res.json()["error"]["field"] == "video_url"
    past = api.post(
        "/sessions",
        {
            "title": "Hier",
            "starts_at": (timezone.now() - dt.timedelta(days=1)).isoformat(),
            "capacity": 5,
            "location": "ici",
        },
        key="k2",
    )
    assert past.status_code == 400 and past.json()["error"]["field"] == "starts_at"
    assert not Session.objects.unscoped().filter(organization=org).exists()


def test_cancel_offers_the_seat_to_the_next_person(org: Organization) -> None:
    api = _api(org)
    with tenancy.tenant_context(org):
        session = SessionFactory(organization=org, capacity=1)
        a = CustomerFactory(organization=org)
        b = CustomerFactory(organization=org)
    ra = api.post(f"/sessions/{session.pk}/registrations", {"customer_id": a.pk}, key="a")
    rb = api.post(f"/sessions/{session.pk}/registrations", {"customer_id": b.pk}, key="b")
    res = api.post(f"/registrations/{ra.json()['id']}/cancel", key="x")
    assert res.json()["status"] == "cancelled"
    with tenancy.tenant_context(org):
        assert Registration.objects.get(pk=rb.json()["id"]).status == "offered"


def test_a_lower_capacity_through_the_api_moves_people_to_the_waiting_list(
    org: Organization,
) -> None:
    api = _api(org)
    with tenancy.tenant_context(org):
        session = SessionFactory(organization=org, capacity=2)
        people = [CustomerFactory(organization=org) for _ in range(2)]
    for i, p in enumerate(people):
        api.post(f"/sessions/{session.pk}/registrations", {"customer_id": p.pk}, key=f"r{i}")
    res = api.patch(
        f"/sessions/{session.pk}",
        {"capacity": 1},
    )
    assert res.status_code == 200 and res.json()["seats_taken"] == 1
    assert res.json()["waiting"] == 1


def test_another_organizations_session_is_a_404(org: Organization, other_org: Organization) -> None:
    with tenancy.tenant_context(other_org):
        theirs = SessionFactory(organization=other_org)
    api = _api(org)
    assert api.get(f"/sessions/{theirs.pk}").status_code == 404
    # Registering someone of ours for their session: the same 404, and nothing written.
    with tenancy.tenant_context(org):
        ours = CustomerFactory(organization=org)
    res = api.post(f"/sessions/{theirs.pk}/registrations", {"customer_id": ours.pk}, key="x1")
    assert res.status_code == 404 and res.json()["error"]["field"] == "session_id"
    with tenancy.tenant_context(other_org):
        assert not Registration.objects.filter(session_id=theirs.pk).exists()
