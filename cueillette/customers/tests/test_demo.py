"""The demo data of ``make demo``: realistic, consistent with the rules, idempotent."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from io import StringIO

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

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are asserted in English (the msgids); French is the default language."""
    with translation.override("en"):
        yield


def load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_two_businesses_their_staff_and_logins() -> None:
    assert "customers" in load()
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


def test_customers_look_real_and_respect_the_rules() -> None:
    load()
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


def test_loading_twice_changes_nothing_and_reset_starts_again() -> None:
    load()
    counts = (Organization.objects.count(), Customer.objects.unscoped().count())
    assert "already loaded" in load()
    assert (Organization.objects.count(), Customer.objects.unscoped().count()) == counts
    other = Organization.objects.create(name="Autre", slug="autre-commerce")
    out = StringIO()
    call_command("load_demo", "--reset", stdout=out)
    assert "Removed 2 demo businesses" in out.getvalue()
    assert (Organization.objects.count() - 1, Customer.objects.unscoped().count()) == counts
    assert Organization.objects.filter(pk=other.pk).exists()  # only demo rows are removed
