"""The messaging API through the front door: an HTTP client with an API key."""

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
from cueillette.messaging.models import Delivery, PressureSettings, Segment
from cueillette.messaging.tests.conftest import consent

pytestmark = pytest.mark.django_db
BASE = "/api/v1/messaging"


def api(org: Organization) -> tuple[Client, dict[str, str]]:
    cache.clear()
    with tenancy.tenant_context(org):
        _key, raw = create_api_key(
            "Outil", ["messaging:read", "messaging:send"], actor=Actor.system("test")
        )
    return Client(), {"Authorization": f"Bearer {raw}"}


def post(c: Client, h: dict[str, str], path: str, body: Any, key: str) -> Any:
    return c.post(
        BASE + path,
        json.dumps(body),
        content_type="application/json",
        headers={**h, "Idempotency-Key": key},
    )


def test_create_see_the_audience_and_send_once(
    org: Organization, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    with tenancy.tenant_context(org):
        PressureSettings.objects.create(quiet_start=dt.time(0), quiet_end=dt.time(0))
        seg = Segment.objects.create(name="Tous", filters={})
        yes = CustomerFactory(organization=org)
        CustomerFactory(organization=org)
        consent(yes, "news_email", at=timezone.now() - dt.timedelta(days=1))
    c, h = api(org)
    bad = post(c, h, "/campaigns", {"name": "x", "subject_fr": "", "body_fr": "y"}, "k0")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "subject_fr"
    r = post(
        c,
        h,
        "/campaigns",
        {"name": "Promo", "subject_fr": "Promo", "body_fr": "Venez", "segment_id": seg.pk},
        "k1",
    )
    assert r.status_code == 201
    pk = r.json()["id"]
    aud = c.get(f"{BASE}/campaigns/{pk}/audience", headers=h).json()
    assert aud == {"total": 2, "sending": 1, "after_quiet_hours": 0, "excluded": {"no_consent": 1}}
    past = post(c, h, f"/campaigns/{pk}/send", {"scheduled_at": "2020-01-01T10:00:00+00:00"}, "k2")
    assert past.status_code == 400 and past.json()["error"]["code"] == "scheduled_in_past"
    with django_capture_on_commit_callbacks(execute=True):
        sent = post(c, h, f"/campaigns/{pk}/send", {}, "k3")
        again = post(c, h, f"/campaigns/{pk}/send", {}, "k3")  # a retried POST
    assert sent.status_code == 200 and again.json() == sent.json()
    assert len(mailoutbox) == 1
    with tenancy.tenant_context(org):
        assert Delivery.objects.filter(campaign_id=pk).count() == 2
    assert [x["id"] for x in c.get(f"{BASE}/campaigns", headers=h).json()] == [pk]


def test_suppressions(org: Organization) -> None:
    c, h = api(org)
    r = post(
        c, h, "/suppressions", {"address": "Old@Example.net", "reason": "cleaned_import"}, "s1"
    )
    assert r.status_code == 201 and r.json()["address"] == "old@example.net"
    bad = post(c, h, "/suppressions", {"address": "x@example.net", "reason": "nope"}, "s2")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "reason"
    assert [s["address"] for s in c.get(f"{BASE}/suppressions", headers=h).json()] == [
        "old@example.net"
    ]
