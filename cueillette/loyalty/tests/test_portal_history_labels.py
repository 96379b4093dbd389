"""The points history in the customer's space says each line once, in words: the kind is not
repeated by its cause, referral points say which side of the referral they reward, and the
reason saved with an entry is shown (escaped) when it says more."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer
from cueillette.loyalty import portal, services
from cueillette.loyalty.models import Card, EntryKind, PointsEntry

pytestmark = pytest.mark.django_db

STAFF = Actor.system("test")


def open_space(client: Client, org: Organization, customer: Customer) -> Client:
    session = client.session
    session[f"portal_customer_{org.pk}"] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    session.save()
    client.cookies["cueillette_lang"] = "en"
    return client


def history_html(client: Client, org: Organization, customer: Customer) -> str:
    html = open_space(client, org, customer).get(f"/o/{org.slug}/space/loyalty/").content.decode()
    return html[html.index('id="history-title"') :]


def whats(html: str) -> list[str]:
    """The "What" cell of each history row, tags removed, newest first."""
    cells = re.findall(r'<td data-label="What"><div>(.*?)</div></td>', html, re.S)
    return [re.sub(r"<[^>]+>", "", re.split(r"<br>|<details>", c)[0]).strip() for c in cells]


@pytest.fixture
def pair(org: Organization) -> tuple[Customer, Card, Customer, Card, PointsEntry, PointsEntry]:
    """Maurice referred Sophie; her first purchase rewarded both (as the referrals app does)."""
    maurice = CustomerFactory(organization=org, first_name="Maurice", last_name="Adam")
    sophie = CustomerFactory(organization=org, first_name="Sophie", last_name="Martin")
    with tenancy.tenant_context(org):
        m_card = services.join_program(maurice, actor=STAFF)
        s_card = services.join_program(sophie, actor=STAFF)
        purchase = services.record_purchase(s_card, amount="12.00", actor=STAFF, receipt_id="T-9")
        now = timezone.now()
        friend = services.credit_referral(
            s_card,
            25,
            occurred_at=now,
            actor=STAFF,
            purchase=purchase,
            reason="Parrainage : bonus de bienvenue",
            cause="referrals:1",
        )
        referrer = services.credit_referral(
            m_card,
            50,
            occurred_at=now,
            actor=STAFF,
            purchase=purchase,
            reason="Parrainage : un ami que vous avez invité a fait son premier achat",
            cause="referrals:1",
        )
    return maurice, m_card, sophie, s_card, friend, referrer


def test_referral_points_say_the_kind_once_and_why(
    client: Client, org: Organization, pair: tuple[Customer, Card, Customer, Card, Any, Any]
) -> None:
    maurice, _m, sophie, _s, _f, _r = pair
    member = history_html(client, org, maurice)
    assert "Referral · Referral" not in whats(member)[0]
    assert whats(member)[0] == "Referral · A friend you invited made their first purchase"
    friend = history_html(client, org, sophie)
    assert whats(friend)[0] == (
        "Referral · Welcome bonus: a friend invited you and you made your first purchase"
    )


def test_taken_back_referral_points_show_the_saved_reason(
    client: Client, org: Organization, pair: tuple[Customer, Card, Customer, Card, Any, Any]
) -> None:
    maurice, _m, _sophie, _s, _f, referrer = pair
    with tenancy.tenant_context(org):
        services.take_back(
            referrer, actor=STAFF, reason="Referral reversed: first purchase refunded <sic>"
        )
    html = history_html(client, org, maurice)
    top = whats(html)[0]
    assert top.startswith("Correction · Points taken back: 50 points earned on ")
    assert top.endswith("(referral)")
    assert (
        '<span class="muted" data-entry-note>Referral reversed: first purchase refunded '
        "&lt;sic&gt;</span>"
    ) in html


def test_a_referral_entry_without_its_purchase_shows_its_saved_reason(
    client: Client, org: Organization
) -> None:
    customer = CustomerFactory(organization=org)
    with tenancy.tenant_context(org):
        card = services.join_program(customer, actor=STAFF)
        services.credit_referral(
            card,
            10,
            occurred_at=timezone.now(),
            actor=STAFF,
            purchase=None,
            reason="Referral: thanks for <b>three</b> friends",
            cause="referrals:7",
        )
    html = history_html(client, org, customer)
    assert whats(html)[0] == "Referral · Thanks for &lt;b&gt;three&lt;/b&gt; friends"
    with tenancy.tenant_context(org), translation.override("fr"):
        entry = PointsEntry.objects.get(card=card, kind=EntryKind.REFERRAL)
        entry.reason = "Parrainage : bonus de bienvenue"  # in memory only
        assert portal.saved_reason(entry) == "Bonus de bienvenue"
        entry.reason = "undo"
        assert portal.saved_reason(entry) == ""


def test_other_kinds_read_well_in_english_and_french(client: Client, org: Organization) -> None:
    customer = CustomerFactory(organization=org)
    with tenancy.tenant_context(org):
        program = services.get_program()
        program.expiry_months = 12
        program.points_per_visit = 2  # so that a visit earns points: 32 for the old purchase
        program.save()
        card = services.join_program(customer, actor=STAFF)
        old = timezone.now() - dt.timedelta(days=400)
        services.record_purchase(
            card, amount="30.00", actor=STAFF, receipt_id="O-1", occurred_at=old
        )
        purchase = services.record_purchase(card, amount="80.00", actor=STAFF, receipt_id="T-42")
        services.refund_purchase(purchase, amount="20.00", actor=STAFF)
        services.adjust(card, 5, reason="Broken bag replaced", actor=STAFF)
        services.record_purchase(card, amount="0", actor=STAFF)
    lines = whats(history_html(client, org, customer))
    assert lines[0].startswith("Visit on ")  # a visit is not "a purchase of €0.00"
    assert "Adjustment by the team: Broken bag replaced" in lines
    assert any(line.startswith("Refund of €20.00 of the purchase of €80.00") for line in lines)
    assert any(line.startswith("Expired points · Expiry of 32 points earned on") for line in lines)
    for line in lines:  # the kind is never said twice
        head, _sep, rest = line.partition(" · ")
        assert not rest or head.casefold() not in rest.casefold(), line
    with tenancy.tenant_context(org), translation.override("fr"):
        rows = portal.history(card, {})
    shown = {  # French spaces before ":" are no-break spaces: compare with plain ones
        r.entry.kind: " ".join((f"{r.kind_label} · {r.cause}" if r.show_kind else r.cause).split())
        for r in rows
    }
    assert shown[EntryKind.ADJUSTMENT] == "Ajustement par l'équipe : Broken bag replaced"
    assert shown[EntryKind.REFUND].startswith("Remboursement de 20,00")
    assert shown[EntryKind.EXPIRY].startswith("Points expirés · Expiration : 32 points")
    assert shown[EntryKind.PURCHASE].startswith("Achat de ")
