"""Erasure: personal data goes at once; the ledger, aggregates and a log without identity stay."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import portal, services
from cueillette.customers.models import (
    AccessToken,
    ConsentEvent,
    Customer,
    CustomerStatus,
    EmailConfirmation,
    Purpose,
)

pytestmark = pytest.mark.django_db

PERSONAL = (
    "Léonie",
    "Marchand",
    "leonie.marchand@example.net",
    "+33698765432",
    "13008",
    "allergic",
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def leonie(org: Organization, django_capture_on_commit_callbacks) -> Customer:
    customer = CustomerFactory(
        organization=org,
        first_name="Léonie",
        last_name="Marchand",
        email="leonie.marchand@example.net",
        phone="+33698765432",
        postal_code="13008",
        notes="allergic to lavender",
        tags=["lavender"],
        heard_from="friend",
        heard_from_detail="Marchand family",
    )
    with tenancy.tenant_context(org), django_capture_on_commit_callbacks(execute=True):
        services.record_consent(
            customer, Purpose.LOYALTY, True, source="counter", actor=Actor.system("t")
        )
        services.record_consent(
            customer, Purpose.NEWS_EMAIL, True, source="counter", actor=Actor.system("t")
        )
        services.update_customer(
            customer, services.CustomerInput.of({"postal_code": "13008"}), actor=Actor.system("t")
        )
    return customer


def assert_no_personal_data(org: Organization) -> None:
    with tenancy.tenant_context(org):
        for row in AuditEvent.objects.all():
            blob = json.dumps(row.data, ensure_ascii=False) + row.actor_label + row.object_id
            for value in PERSONAL:
                assert value not in blob, (row.action, value)
        for event in ConsentEvent.objects.all():
            blob = json.dumps(event.evidence, ensure_ascii=False) + event.actor_label
            for value in PERSONAL:
                assert value not in blob


def test_self_erasure_from_the_space(
    client: Client,
    org: Organization,
    leonie: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/o/{org.slug}/space/link/", {"email": leonie.email})
    path = re.search(
        re.escape(settings.SITE_URL) + r"(/o/\S+/space/open/\S+/)", mailoutbox[-1].body
    )
    assert path
    client.post(path.group(1))
    # A second, unused link must die with the record.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/o/{org.slug}/space/link/", {"email": leonie.email})
    spare = re.search(
        re.escape(settings.SITE_URL) + r"(/o/\S+/space/open/\S+/)", mailoutbox[-1].body
    )
    assert spare

    assert client.get(f"/o/{org.slug}/space/erase/").status_code == 200
    with tenancy.tenant_context(org):
        ledger_before = ConsentEvent.objects.filter(customer=leonie).count()
    response = client.post(f"/o/{org.slug}/space/erase/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Léonie" not in html

    with tenancy.tenant_context(org):
        leonie.refresh_from_db()
        assert leonie.status == CustomerStatus.ERASED
        assert leonie.erased_at is not None
        for field in (
            "first_name",
            "last_name",
            "email",
            "phone",
            "postal_code",
            "notes",
            "heard_from_detail",
            "search_first",
            "search_last",
            "search_phone",
        ):
            assert getattr(leonie, field) == "", field
        assert leonie.tags == [] and leonie.birthday is None
        assert leonie.heard_from == "friend"  # an answer without identity, kept for totals
        assert not AccessToken.objects.filter(customer=leonie).exists()
        assert not EmailConfirmation.objects.filter(customer=leonie).exists()
        # The ledger stays (it proves what was agreed), without identity.
        assert ConsentEvent.objects.filter(customer=leonie).count() == ledger_before
        row = AuditEvent.objects.get(action="customer.erased")
        assert row.data == {"reason": "self", "merged_records": 0}
        assert row.object_id == str(leonie.pk)
    assert_no_personal_data(org)

    # Logged out, and no link opens the erased record.
    assert client.get(f"/o/{org.slug}/space/").status_code == 302
    assert client.post(spare.group(1)).status_code == 400
    # The email is free again: joining with it creates a new, separate record.
    client.post(
        f"/o/{org.slug}/join/",
        {"first_name": "L", "last_name": "M", "email": "leonie.marchand@example.net"},
    )
    with tenancy.tenant_context(org):
        assert Customer.objects.filter(email="leonie.marchand@example.net").count() == 1


def test_erasure_reaches_merged_records(org: Organization, owner) -> None:
    a = CustomerFactory(organization=org, email="leonie.marchand@example.net", first_name="Léonie")
    b = CustomerFactory(organization=org, phone="+33698765432", last_name="Marchand")
    with tenancy.tenant_context(org):
        services.merge_customers(a, b, actor=Actor.staff(owner, "owner"))
        portal.erase_customer(a, actor=Actor.staff(owner, "owner"), reason="staff")
        b.refresh_from_db()
        assert b.status == CustomerStatus.ERASED and b.phone == "" and b.last_name == ""
        assert AuditEvent.objects.get(action="customer.erased").data["merged_records"] == 1
        # Erasing twice is harmless.
        portal.erase_customer(a, actor=Actor.staff(owner, "owner"), reason="staff")
        assert AuditEvent.objects.filter(action="customer.erased").count() == 1
    assert_no_personal_data(org)


def test_erased_customer_cannot_be_changed(org: Organization, leonie: Customer) -> None:
    from cueillette.core.errors import ServiceError

    with tenancy.tenant_context(org):
        portal.erase_customer(leonie, actor=Actor.system(), reason="self")
        with pytest.raises(ServiceError):
            services.record_consent(
                leonie, Purpose.LOYALTY, True, source="portal", actor=Actor.customer()
            )
        with pytest.raises(ServiceError):
            services.update_customer(
                leonie, services.CustomerInput.of({"first_name": "X"}), actor=Actor.customer()
            )
        with pytest.raises(ServiceError):
            portal.erase_customer(leonie, actor=Actor.system(), reason="boredom")
