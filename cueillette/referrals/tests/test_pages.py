"""Staff pages: permissions, review, settings, advocates, thanks, figures, customer panel."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import services as customer_services
from cueillette.customers.models import Purpose
from cueillette.loyalty import services as loyalty
from cueillette.referrals import services
from cueillette.referrals.models import Referral, ReferralStatus, ThankYou

PAGES = ["list", "review", "settings", "advocates", "figures"]


@pytest.fixture
def story(org: Any) -> dict[str, Any]:
    """Claire sent Paul (confirmed by a purchase) and Léa (flagged: already a customer)."""
    system = Actor.system("test")
    with tenancy.tenant_context(org):
        loyalty.get_program()
        claire = CustomerFactory(organization=org, first_name="Claire", last_name="Roux")
        paul = CustomerFactory(organization=org, first_name="Paul", last_name="Vidal")
        lea = CustomerFactory(organization=org, first_name="Léa", last_name="Noël")
        claire_card = loyalty.join_program(claire, actor=system)
        paul_card = loyalty.join_program(paul, actor=system)
        lea_card = loyalty.join_program(lea, actor=system)
        loyalty.record_purchase(lea_card, amount="8", actor=system)
        confirmed = services.record_referral(claire, paul, source="link", actor=system)
        loyalty.record_purchase(paul_card, amount="45", actor=system)
        flagged = services.record_referral(claire, lea, source="counter", actor=system)
    return {
        "claire": claire,
        "paul": paul,
        "lea": lea,
        "claire_card": claire_card,
        "confirmed": confirmed,
        "flagged": flagged,
    }


@pytest.mark.parametrize("name", PAGES)
def test_counter_gets_403(counter_client: Client, name: str) -> None:
    assert counter_client.get(reverse(f"referrals:{name}")).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_owner_and_manager_see_pages(
    owner_client: Client, manager_client: Client, story: Any, name: str
) -> None:
    for c in (owner_client, manager_client):
        r = c.get(reverse(f"referrals:{name}"))
        assert r.status_code == 200
    assert b"<script>" not in r.content and b'style="' not in r.content


def test_list_filters(owner_client: Client, story: Any) -> None:
    r = owner_client.get(reverse("referrals:list"), {"status": "confirmed"})
    assert f'data-referral="{story["confirmed"].pk}"'.encode() in r.content
    assert f'data-referral="{story["flagged"].pk}"'.encode() not in r.content
    r = owner_client.get(reverse("referrals:list"), {"source": "counter"})
    assert f'data-referral="{story["flagged"].pk}"'.encode() in r.content


def test_review_confirm_and_counter_cannot(
    org: Any, owner_client: Client, counter_client: Client, story: Any
) -> None:
    url = reverse("referrals:decide", args=[story["flagged"].pk])
    assert counter_client.post(url, {"decision": "confirm"}).status_code == 403
    page = owner_client.get(reverse("referrals:review"))
    assert f'data-referral="{story["flagged"].pk}"'.encode() in page.content
    assert b'data-flag="existing"' in page.content
    r = owner_client.post(url, {"decision": "reject", "reason": "  "})
    assert r.status_code == 400  # said next to that referral's reason field
    assert f'id="reason-{story["flagged"].pk}-error"'.encode() in r.content
    with tenancy.tenant_context(org):
        assert Referral.objects.get(pk=story["flagged"].pk).status == ReferralStatus.PENDING
    owner_client.post(url, {"decision": "reject", "reason": "was already coming"})
    with tenancy.tenant_context(org):
        got = Referral.objects.get(pk=story["flagged"].pk)
    assert got.status == ReferralStatus.REJECTED and got.reason_text == "was already coming"


def test_settings_saves_and_rejects_bad_numbers(org: Any, owner_client: Client) -> None:
    url = reverse("referrals:settings")
    data = {
        "enabled": "on",
        "referrer_points": "150",
        "friend_points": "30",
        "min_amount": "20",
        "monthly_cap": "",
        "burst_count": "4",
        "burst_hours": "12",
        "review_days": "5",
        "default_action": "confirm",
    }
    assert owner_client.post(url, data).status_code == 302
    with tenancy.tenant_context(org):
        p = services.get_program()
    assert (p.referrer_points, p.monthly_cap, p.default_action) == (150, None, "confirm")
    r = owner_client.post(url, {**data, "referrer_points": "-3"})
    assert r.status_code == 400
    with tenancy.tenant_context(org):
        assert services.get_program().referrer_points == 150


def test_advocates_tree_and_thanks(
    org: Any,
    owner_client: Client,
    story: Any,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    claire = story["claire"]
    r = owner_client.get(reverse("referrals:advocates"), {"sort": "revenue"})
    assert f'data-advocate="{claire.pk}" data-direct="2" data-reach="2"'.encode() in r.content
    page = owner_client.get(reverse("referrals:advocate", args=[claire.pk]))
    assert f'data-node="{story["paul"].pk}"'.encode() in page.content
    with tenancy.tenant_context(org):
        customer_services.record_consent(
            claire, Purpose.LOYALTY, True, source="counter", actor=Actor.system("t")
        )
    url = reverse("referrals:thank", args=[claire.pk])
    assert owner_client.post(url, {"message": "", "points": ""}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        r = owner_client.post(url, {"message": "Merci Claire !", "points": "200"})
    assert r.status_code == 302
    with tenancy.tenant_context(org):
        t = ThankYou.objects.get()
        assert t.emailed and t.entry is not None and t.entry.points == 200
        story["claire_card"].refresh_from_db()
        assert story["claire_card"].balance >= 200
    msgs = smtp_server.wait_for(1)
    assert msgs[0]["To"] == claire.email
    assert "Merci Claire" in smtp_server.body(msgs[0])


def test_customer_record_panel(owner_client: Client, counter_client: Client, story: Any) -> None:
    r = counter_client.get(reverse("customers:detail", args=[story["claire"].pk]))
    assert r.status_code == 200 and b'data-referred-count="2"' in r.content
    r = owner_client.get(reverse("customers:detail", args=[story["paul"].pk]))
    assert f'data-referred-by="{story["claire"].pk}"'.encode() in r.content


def test_figures_show_word_of_mouth(owner_client: Client, story: Any) -> None:
    r = owner_client.get(reverse("referrals:figures"))
    assert r.status_code == 200 and b'id="chart-share"' in r.content
    assert b"months-table" in r.content
