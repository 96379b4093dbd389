"""The member's side in the customer's space: join, the card, why this tier, history, leave."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
import zipfile

import pytest
from django.test import Client
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import services as customer_services
from cueillette.customers.models import ConsentEvent, Customer, Purpose
from cueillette.loyalty import rules, services
from cueillette.loyalty.models import Card, CardStatus, Reward, Tier
from cueillette.public.tests.conftest import join_data

pytestmark = pytest.mark.django_db

STAFF = Actor.system("test")


def open_space(client: Client, org: Organization, customer: Customer) -> Client:
    """Open the customer's space in this browser, as the magic link does."""
    session = client.session
    session[f"portal_customer_{org.pk}"] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    session.save()
    client.cookies["cueillette_lang"] = "en"
    return client


def url(org: Organization, name: str = "") -> str:
    return f"/o/{org.slug}/space/loyalty/{name}"


@pytest.fixture
def member(org: Organization) -> Customer:
    customer = CustomerFactory(organization=org, first_name="Aïcha", last_name="Benali")
    with tenancy.tenant_context(org):
        program = services.get_program()
        program.welcome_bonus = 10
        program.save()
        services.join_program(customer, actor=STAFF)
    return customer


def card_of(org: Organization, customer: Customer) -> Card:
    with tenancy.tenant_context(org):
        return Card.objects.get(customer=customer)


# --------------------------------------------------------------------------- not a member


def test_non_member_sees_the_rules_and_the_consent_wording(
    client: Client, org: Organization, customer: Customer
) -> None:
    with tenancy.tenant_context(org):
        program = services.get_program()
        program.points_per_euro = 2
        program.expiry_months = 12
        program.save()
        Tier.objects.create(code="gold", name="Gold", threshold=500, benefits="Free coffee")
        Reward.objects.create(name="Tote bag", cost=150)
        wording = customer_services.current_wording(Purpose.LOYALTY, "en")
    open_space(client, org, customer)
    space = client.get(f"/o/{org.slug}/space/").content.decode()
    assert "My loyalty card" in space and url(org) in space
    response = client.get(url(org))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Each euro you spend earns 2 points" in html
    assert "rounded down to a whole point" in html
    assert "Points expire 12 months after they were earned" in html
    assert "Gold" in html and "Free coffee" in html and "Tote bag" in html
    assert wording.text.replace("'", "&#x27;") in html
    assert f'action="{url(org, "join/")}"' in html
    assert 'type="checkbox"' not in html  # the button is the consent, nothing pre-ticked


def test_join_from_the_space_records_consent_and_issues_a_card(
    client: Client, org: Organization, customer: Customer
) -> None:
    open_space(client, org, customer)
    response = client.post(url(org, "join/"))
    assert response.status_code == 302 and response["Location"] == url(org)
    with tenancy.tenant_context(org):
        card = Card.objects.get(customer=customer)
        assert card.is_open and rules.is_luhn_valid(card.number)
        event = ConsentEvent.objects.get(customer=customer, purpose=Purpose.LOYALTY)
        assert event.granted and event.source == "portal" and event.actor_kind == "customer"
    html = client.get(url(org)).content.decode()
    assert rules.format_card_number(card.number) in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'class="qr"' in html
    assert "Welcome! Your loyalty card is ready." in html
    # Joining twice is refused with a message, nothing written.
    client.post(url(org, "join/"))
    with tenancy.tenant_context(org):
        assert Card.objects.filter(customer=customer).count() == 1


def test_the_qr_code_encodes_the_plain_card_number(
    client: Client, org: Organization, member: Customer
) -> None:
    import segno

    card = card_of(org, member)
    html = open_space(client, org, member).get(url(org)).content.decode()
    expected = segno.make(card.number, error="m", micro=False)
    buf = io.BytesIO()
    expected.save(buf, kind="svg", scale=1, border=4, xmldecl=False, omitsize=True, nl=False)
    path = re.search(r' d="([^"]+)"', buf.getvalue().decode()).group(1)  # type: ignore[union-attr]
    assert path in html


# --------------------------------------------------------------------------- a member


def test_member_page_shows_balance_tier_why_and_progress(
    client: Client, org: Organization, member: Customer
) -> None:
    card = card_of(org, member)
    with tenancy.tenant_context(org):
        Tier.objects.create(code="silver", name="Silver", threshold=50)
        Tier.objects.create(code="gold", name="Gold", threshold=200, benefits="Free delivery")
        services.record_purchase(card, amount="60.00", actor=STAFF, receipt_id="T-1")
    html = open_space(client, org, member).get(url(org)).content.decode()
    assert "<strong>70</strong>" in html  # 10 welcome + 60
    assert "Why am I in this tier?" in html
    assert "That reaches the tier Silver" in html
    assert "Next tier: Gold" in html and "140 points to go" in html
    assert '<progress id="tier-progress"' in html and 'max="200" value="60"' in html
    # The rule that decides it, in words.
    assert "over a rolling 12 months" in html
    assert "only move down at the monthly review" in html


def test_history_lists_every_entry_with_its_cause(
    client: Client, org: Organization, member: Customer
) -> None:
    card = card_of(org, member)
    today = timezone.localdate()
    try:
        birthday = today.replace(year=1990)
    except ValueError:  # 29 February
        birthday = today.replace(year=1990, day=28)
    with tenancy.tenant_context(org):
        program = services.get_program()
        program.birthday_bonus = 25
        program.expiry_months = 12
        program.save()
        member.birthday = birthday
        member.save()
        customer_services.record_consent(
            member, Purpose.PROFILING, True, source="counter", actor=STAFF
        )
        old = timezone.now() - dt.timedelta(days=400)
        services.record_purchase(
            card, amount="30.00", actor=STAFF, receipt_id="OLD-1", occurred_at=old
        )
        purchase = services.record_purchase(card, amount="80.00", actor=STAFF, receipt_id="TILL-42")
        services.refund_purchase(purchase, amount="20.00", actor=STAFF)
        reward = Reward.objects.create(name="Espresso cup", cost=20)
        services.redeem(card, reward, actor=STAFF)
        services.adjust(card, 5, reason="Broken bag replaced", actor=STAFF)
    html = open_space(client, org, member).get(url(org)).content.decode()
    history = html[html.index('id="history-title"') :]
    assert "Welcome gift for joining" in history
    assert "(receipt TILL-42)" in history and "80.00" in history
    assert "Refund of €20.00 of the purchase of €80.00" in history
    assert "Reward: Espresso cup" in history
    assert "Expiry of 30 points earned on" in history  # the old batch, 13 months ago
    assert "Adjustment by the team: Broken bag replaced" in history
    assert f"Birthday gift {today.year}" in history
    assert "How it was counted" in history


def test_expiry_schedule_and_warning_banner(
    client: Client, org: Organization, member: Customer
) -> None:
    card = card_of(org, member)
    with tenancy.tenant_context(org):
        program = services.get_program()
        program.expiry_months = 12
        program.expiry_warning_days = 30
        program.save()
        # Earned 12 months minus ten days ago: expires in about ten days.
        at = timezone.now() - dt.timedelta(days=355)
        services.record_purchase(
            card, amount="40.00", actor=STAFF, receipt_id="E-1", occurred_at=at
        )
    html = open_space(client, org, member).get(url(org)).content.decode()
    assert 'class="lp-banner"' in html
    assert "40 points expire after" in html
    assert "When your points expire" in html and 'class="lp-soon"' in html


def test_no_banner_when_nothing_expires_soon(
    client: Client, org: Organization, member: Customer
) -> None:
    html = open_space(client, org, member).get(url(org)).content.decode()
    assert 'class="lp-banner"' not in html
    assert "When your points expire" in html


def test_rewards_available_now_and_almost(
    client: Client, org: Organization, member: Customer
) -> None:
    card = card_of(org, member)
    with tenancy.tenant_context(org):
        services.record_purchase(card, amount="40.00", actor=STAFF, receipt_id="R-1")
        Reward.objects.create(name="Small coffee", cost=30)
        Reward.objects.create(name="Big cake", cost=80)
        Reward.objects.create(name="Retired gift", cost=5, active=False)
    html = open_space(client, org, member).get(url(org)).content.decode()
    now = html[html.index("Yours now") : html.index("Almost there")]
    soon = html[html.index("Almost there") : html.index('id="expiry-title"')]
    assert "Small coffee" in now and "Big cake" not in now
    assert "Big cake" in soon and "30 more points needed" in soon
    assert "Retired gift" not in html


def test_printable_card(client: Client, org: Organization, member: Customer) -> None:
    card = card_of(org, member)
    response = open_space(client, org, member).get(url(org, "card/"))
    assert response.status_code == 200
    html = response.content.decode()
    assert rules.format_card_number(card.number) in html
    assert "Aïcha Benali" in html and org.name in html
    assert 'class="qr"' in html and "loyalty/wallet/card.css" in html
    assert "<script>" not in html and "style=" not in html


def test_space_pages_need_the_space(client: Client, org: Organization, member: Customer) -> None:
    for path in (url(org), url(org, "card/"), url(org, "leave/")):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/o/{org.slug}/space/link/?next={path}"


def test_another_organizations_customer_cannot_see_a_card(
    client: Client, org: Organization, other_org: Organization, member: Customer
) -> None:
    # A browser holding a space of the other organization does not open this one.
    stranger = CustomerFactory(organization=other_org)
    open_space(client, other_org, stranger)
    assert client.get(url(org))["Location"] == f"/o/{org.slug}/space/link/?next={url(org)}"
    # A forged session naming this organization's member from the other org's pages: 404.
    session = client.session
    session[f"portal_customer_{other_org.pk}"] = {
        "customer": member.pk,
        "org": other_org.pk,
        "expires": time.time() + 3600,
    }
    session.save()
    assert client.get(url(other_org)).status_code == 404


# --------------------------------------------------------------------------- leaving


def test_leave_closes_the_card_withdraws_consent_and_keeps_the_history_in_the_export(
    client: Client, org: Organization, member: Customer
) -> None:
    card = card_of(org, member)
    with tenancy.tenant_context(org):
        services.record_purchase(card, amount="12.00", actor=STAFF, receipt_id="L-1")
    open_space(client, org, member)
    confirm = client.get(url(org, "leave/")).content.decode()
    assert "your card" in confirm and "is closed" in confirm
    assert "you get no more loyalty messages" in confirm
    assert "Download my data" in confirm
    response = client.post(url(org, "leave/"))
    assert response.status_code == 302
    with tenancy.tenant_context(org):
        card.refresh_from_db()
        assert card.status == CardStatus.CLOSED and card.closed_at is not None
        assert not customer_services.has_consent(member, Purpose.LOYALTY)
        assert services.open_card_for(member) is None
    page = client.get(url(org)).content.decode()
    assert "You left the program on" in page and "Join the program" in page
    # The history stays downloadable.
    export = client.post(f"/o/{org.slug}/space/export/")
    assert export.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    assert {"loyalty.json", "loyalty_entries.csv"} <= set(archive.namelist())
    data = json.loads(archive.read("loyalty.json"))
    [exported] = data["cards"]
    assert exported["number"] == card.number and exported["status"] == "closed"
    assert [e["kind"] for e in exported["entries"]] == ["welcome", "purchase"]
    assert exported["purchases"][0]["receipt_id"] == "L-1"
    rows = list(
        csv.reader(
            io.StringIO(archive.read("loyalty_entries.csv").decode("utf-8-sig")), delimiter=";"
        )
    )
    assert len(rows) == 3 and rows[0][0] == "card"


def test_export_without_a_card_has_no_loyalty_files(
    client: Client, org: Organization, customer: Customer
) -> None:
    export = open_space(client, org, customer).post(f"/o/{org.slug}/space/export/")
    assert "loyalty.json" not in zipfile.ZipFile(io.BytesIO(export.content)).namelist()


# --------------------------------------------------------------------------- consent = membership


def test_loyalty_consent_in_the_space_joins_and_withdrawing_it_leaves(
    client: Client, org: Organization, customer: Customer
) -> None:
    with tenancy.tenant_context(org):
        wording = customer_services.current_wording(Purpose.LOYALTY, "en")
    open_space(client, org, customer)
    consent = f"/o/{org.slug}/space/consent/"
    client.post(consent, {"purpose": "loyalty", "decision": "give", "wording": wording.pk})
    with tenancy.tenant_context(org):
        card = Card.objects.get(customer=customer)
        assert card.is_open
        assert ConsentEvent.objects.filter(customer=customer, purpose="loyalty").count() == 1
    client.post(consent, {"purpose": "loyalty", "decision": "withdraw"})
    with tenancy.tenant_context(org):
        card.refresh_from_db()
        assert card.status == CardStatus.CLOSED
        assert not customer_services.has_consent(customer, Purpose.LOYALTY)
    # Another purpose does not touch the card.
    client.post(consent, {"purpose": "feedback", "decision": "give"})
    with tenancy.tenant_context(org):
        assert not Card.objects.filter(customer=customer, status="open").exists()


def test_ticking_loyalty_on_the_join_page_issues_a_card(client: Client, org: Organization) -> None:
    client.post(f"/o/{org.slug}/join/", join_data(consent_loyalty="on"))
    client.post(
        f"/o/{org.slug}/join/",
        join_data(email="other@example.net", first_name="Noa", consent_feedback="on"),
    )
    with tenancy.tenant_context(org):
        camille = Customer.objects.get(email="camille@example.net")
        card = Card.objects.get(customer=camille)
        assert card.is_open
        # One consent entry: the card reuses the grant made on the page.
        assert ConsentEvent.objects.filter(customer=camille, purpose="loyalty").count() == 1
        assert not Card.objects.filter(customer__email="other@example.net").exists()


def test_erasing_the_customer_closes_the_card(
    client: Client, org: Organization, member: Customer
) -> None:
    open_space(client, org, member).post(f"/o/{org.slug}/space/erase/")
    card = card_of(org, member)
    assert card.status == CardStatus.CLOSED


def test_long_history_comes_a_page_at_a_time_newest_first(
    client: Client, org: Organization, member: Customer
) -> None:
    card = card_of(org, member)
    start = timezone.now() - dt.timedelta(days=60)
    with tenancy.tenant_context(org):
        for i in range(60):  # + the welcome bonus = 61 entries
            services.record_purchase(
                card,
                amount="10.00",
                actor=STAFF,
                receipt_id=f"R-{i:02d}",
                occurred_at=start + dt.timedelta(hours=i),
            )
    space = open_space(client, org, member)
    first = space.get(url(org)).content.decode()
    first_history = first[first.index('id="history-title"') :]
    assert first_history.count("<tr>") == 1 + 50  # the header row and a page of 50
    assert 'data-history-pages="2"' in first_history
    assert "(receipt R-59)" in first_history and "(receipt R-10)" in first_history
    assert "(receipt R-09)" not in first_history
    second = space.get(url(org) + "?page=2").content.decode()
    second_history = second[second.index('id="history-title"') :]
    assert "(receipt R-09)" in second_history and "Welcome gift for joining" in second_history
    assert "(receipt R-10)" not in second_history
    # A page number out of range shows the last page rather than an error.
    assert space.get(url(org) + "?page=99").status_code == 200
