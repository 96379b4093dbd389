"""The demo data of ``make demo``: realistic, consistent with the rules, idempotent.

The demo is loaded once for the whole module (about ten seconds): its rows live in a
transaction around the module's tests, each test runs in a savepoint inside it and is rolled
back, and the module's transaction is rolled back at the end (``seeded_once``, as the tenant
sweep does). The module runs on one worker (``xdist_group``), so it is loaded once per run.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from io import StringIO
from typing import Any

import phonenumbers
import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation

from cueillette.accounts.models import Membership, Role, User
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tenancy import tenant_context
from cueillette.customers import demo, queries
from cueillette.customers.models import ConsentEvent, Customer, Purpose
from cueillette.customers.normalize import fold, normalize_email, phone_search_key
from cueillette.events import queries as event_queries
from cueillette.events import services as event_services
from cueillette.events.models import Registration, RegStatus, Session
from cueillette.loyalty.models import Card, PointsEntry
from cueillette.referrals import queries as referral_queries
from cueillette.referrals.models import Referral
from tests.seeding import seeded_once

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("demo")]


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are asserted in English (the msgids); French is the default language."""
    with translation.override("en"):
        yield


def load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def _module_demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    with seeded_once(django_db_blocker, load) as output:
        yield output


@pytest.fixture
def demo_output(_module_demo: str, db: None) -> str:
    """What the first ``load_demo`` printed; the demo's rows are in the database."""
    return _module_demo


def test_two_businesses_their_staff_and_logins(demo_output: str) -> None:
    assert "customers" in demo_output
    practice = Organization.objects.get(slug=demo.PRACTICE.slug)
    shop = Organization.objects.get(slug=demo.SHOP.slug)
    assert "acupuncture" in practice.name and shop.name == "Épicerie Voisine"
    roles = {
        (m.user.email, m.organization.slug): m.role
        for m in Membership.objects.unscoped().select_related("user", "organization")
    }
    claire, marc, lea = (email for email, _name in demo.LOGINS)
    assert roles == {
        (claire, practice.slug): Role.OWNER,
        (claire, shop.slug): Role.OWNER,
        (marc, shop.slug): Role.MANAGER,
        (lea, shop.slug): Role.COUNTER,
    }
    for email, _name in demo.LOGINS:
        client = Client()
        assert client.login(username=email, password=demo.PASSWORD), email
        assert client.get("/app/").status_code == 200
    assert User.objects.get(email=claire).email_confirmed_at is not None


def test_customers_look_real_and_respect_the_rules(demo_output: str) -> None:
    now = timezone.now()
    total = 0
    for org in demo.demo_organizations():
        with tenant_context(org):
            customers = list(Customer.objects.all())
            total += len(customers)
            assert len({c.email for c in customers if c.email}) == sum(
                1 for c in customers if c.email
            )
            for c in customers:
                assert c.first_name and c.last_name
                assert c.email or c.phone
                if c.email:
                    assert normalize_email(c.email) == c.email
                    assert re.fullmatch(r"[a-z0-9.\-]+@[a-z.]+\.(fr|com|net)", c.email)
                if c.phone:
                    assert re.fullmatch(r"\+33[67]\d{8}", c.phone)
                    assert phonenumbers.is_valid_number(phonenumbers.parse(c.phone))
                assert c.search_last == fold(c.last_name)
                assert c.search_first == fold(c.first_name)
                assert c.search_phone == phone_search_key(c.phone)
                assert c.created_at <= c.last_activity_at <= now
            oldest = min(c.created_at for c in customers)
            assert oldest < now - dt.timedelta(days=600)  # two years of history
            # Most customers did NOT agree to receive news; every grant had its channel.
            news = queries.contactable(Purpose.NEWS_EMAIL).count()
            assert 0.15 * len(customers) < news < 0.45 * len(customers)
            assert queries.contactable(Purpose.LOYALTY).count() > news
            grants = ConsentEvent.objects.filter(granted=True).select_related("customer")
            for event in grants:
                assert event.occurred_at >= event.customer.created_at
                if event.channel == "sms":
                    assert event.customer.phone
                if event.channel == "email":
                    assert event.customer.email
                if event.purpose == Purpose.NEWS_EMAIL:
                    assert event.evidence["double_opt_in_confirmed_at"]
                assert event.wording_hash == event.wording.text_hash
            assert ConsentEvent.objects.filter(granted=False).exists()  # withdrawals, refusals
            assert AuditEvent.objects.exists()
    assert 1800 <= total <= 2200


def test_loading_twice_changes_nothing_and_reset_starts_again(demo_output: str) -> None:
    counts = (Organization.objects.count(), Customer.objects.unscoped().count())
    assert "already loaded" in load()
    assert (Organization.objects.count(), Customer.objects.unscoped().count()) == counts
    other = Organization.objects.create(name="Autre", slug="autre-commerce")
    out = StringIO()
    call_command("load_demo", "--reset", stdout=out)
    assert "Removed 2 demo businesses" in out.getvalue()
    assert (Organization.objects.count() - 1, Customer.objects.unscoped().count()) == counts
    assert Organization.objects.filter(pk=other.pk).exists()  # only demo rows are removed


def test_demo_sessions_tell_a_story_and_never_overbook(demo_output: str) -> None:
    shop = Organization.objects.get(slug="epicerie-voisine")
    practice = Organization.objects.get(slug="cabinet-martin")
    with tenant_context(shop):
        tasting = Session.objects.get(title__startswith="Dégustation")
        assert event_services.seats_taken(tasting) == tasting.capacity
        assert len(event_services.waiting(tasting)) == 4
        for s in Session.objects.all():
            assert event_services.seats_taken(s) <= s.capacity
    with tenant_context(practice):
        weekly = list(Session.objects.filter(series__isnull=False))
        assert len(weekly) == 10
        past = [s for s in weekly if s.ends_at <= timezone.now()]
        figures = event_queries.figures(past)
        assert figures.attended > 0 and figures.no_shows > 0
        assert 0.5 < (figures.attendance_rate or 0) < 0.95
        assert not Registration.objects.filter(status=RegStatus.PENDING).exists()


def test_demo_referrals(demo_output: str) -> None:
    practice = Organization.objects.get(slug="cabinet-martin")
    with tenant_context(practice):
        top = referral_queries.advocates(sort="direct")[0]
        assert top.direct == 7 and top.reach >= 9
        assert Referral.objects.filter(under_review=True).count() == 1
        assert Referral.objects.filter(status="rejected").count() == 1
        assert Referral.objects.filter(status="confirmed").exists()
        for card in Card.objects.filter(entries__kind="referral").distinct():
            total = sum(PointsEntry.objects.filter(card=card).values_list("points", flat=True))
            assert card.balance == total >= 0
