"""Retention: warned by email where consent allows, anonymised after the period; time travels."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import retention, services
from cueillette.customers.models import Customer, CustomerStatus, Purpose

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def make(
    org: Organization, last_seen: dt.datetime, *, consent: str | None = None, **kw
) -> Customer:
    customer = CustomerFactory(organization=org, **kw)
    with tenancy.tenant_context(org):
        if consent:
            services.record_consent(
                customer,
                consent,
                True,
                source="counter",
                actor=Actor.system("t"),
                evidence={"double_opt_in_confirmed_at": "2020-01-01T00:00:00+00:00"},
            )
        Customer.objects.filter(pk=customer.pk).update(last_activity_at=last_seen)
        customer.refresh_from_db()
    return customer


def status(org: Organization, customer: Customer) -> Customer:
    with tenancy.tenant_context(org):
        customer.refresh_from_db()
    return customer


def test_warned_then_erased_after_the_period(
    org: Organization, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    org.retention_days = 365
    org.save()
    start = timezone.now()
    customer = make(
        org, start, consent=Purpose.NEWS_EMAIL, email="old.friend@example.net", first_name="Odile"
    )

    # 300 days later: nothing yet (the warning comes 30 days before the end).
    assert retention.run_retention(org, now=start + 300 * DAY).as_dict() == {
        "warned": 0,
        "erased": 0,
    }

    with django_capture_on_commit_callbacks(execute=True):
        report = retention.run_retention(org, now=start + 340 * DAY)
    assert report.as_dict() == {"warned": 1, "erased": 0}
    assert [m.to for m in mailoutbox] == [["old.friend@example.net"]]
    assert f"/o/{org.slug}/space/link/" in mailoutbox[0].body
    assert status(org, customer).retention_warned_at is not None

    # Warned once only.
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.run_retention(org, now=start + 350 * DAY).warned == 0
    assert len(mailoutbox) == 1

    # Period over, but the warning is less than 30 days old: wait.
    assert retention.run_retention(org, now=start + 366 * DAY).erased == 0
    assert status(org, customer).is_active

    assert retention.run_retention(org, now=start + 371 * DAY).erased == 1
    customer = status(org, customer)
    assert customer.status == CustomerStatus.ERASED
    assert customer.email == "" and customer.first_name == ""
    with tenancy.tenant_context(org):
        row = AuditEvent.objects.get(action="customer.erased")
        assert row.data["reason"] == "retention"
        assert row.actor_kind == "system"
        assert "Odile" not in str(row.data) + row.actor_label


def test_no_email_consent_means_no_warning_and_erasure_at_the_end(
    org: Organization, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    start = timezone.now()
    silent = make(org, start, consent=Purpose.LOYALTY)  # has an email but never agreed to emails
    no_email = make(org, start, consent=Purpose.FEEDBACK)
    with tenancy.tenant_context(org):  # agreed to feedback emails, then the address was removed
        Customer.objects.filter(pk=no_email.pk).update(email="")
    with django_capture_on_commit_callbacks(execute=True):
        report = retention.run_retention(org, now=start + (3 * 365 - 10) * DAY)
    assert report.warned == 0
    assert mailoutbox == []
    assert status(org, silent).is_active
    report = retention.run_retention(org, now=start + (3 * 365 + 1) * DAY)
    assert report.erased == 2
    assert not status(org, silent).is_active and not status(org, no_email).is_active


def test_withdrawn_email_consent_is_not_consent(
    org: Organization, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    start = timezone.now()
    customer = make(org, start, consent=Purpose.COMMUNITY)
    with tenancy.tenant_context(org):
        services.record_consent(
            customer, Purpose.COMMUNITY, False, source="portal", actor=Actor.customer()
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.run_retention(org, now=start + (3 * 365 - 5) * DAY).warned == 0
    assert mailoutbox == []


def test_activity_after_the_warning_keeps_the_customer(
    org: Organization, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    org.retention_days = 100
    org.save()
    start = timezone.now()
    customer = make(org, start, consent=Purpose.FEEDBACK)
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.run_retention(org, now=start + 80 * DAY).warned == 1
    # The customer opens their space (or buys something) on day 90.
    with tenancy.tenant_context(org):
        services.touch_activity(customer, start + 90 * DAY)
    assert retention.run_retention(org, now=start + 150 * DAY).erased == 0
    assert status(org, customer).is_active
    # Inactive again: a new warning is needed before erasure (the old one does not count).
    with django_capture_on_commit_callbacks(execute=True):
        report = retention.run_retention(org, now=start + 191 * DAY)
    assert report.as_dict() == {"warned": 1, "erased": 0}
    assert len(mailoutbox) == 2
    assert retention.run_retention(org, now=start + 222 * DAY).erased == 1


def test_creation_date_counts_when_never_active(org: Organization) -> None:
    customer = CustomerFactory(organization=org, email="")
    assert customer.last_activity_at is None
    now = timezone.now()
    assert retention.run_retention(org, now=now + 100 * DAY).erased == 0
    assert retention.run_retention(org, now=now + (3 * 365 + 1) * DAY).erased == 1


def test_one_organization_does_not_touch_another(
    org: Organization, other_org: Organization
) -> None:
    start = timezone.now()
    other_org.retention_days = 3650
    other_org.save()
    ours = make(org, start - 4 * 365 * DAY, email="")
    theirs = make(other_org, start - 4 * 365 * DAY, email="")
    reports = retention.run_all(now=start)
    assert reports[org.slug]["erased"] == 1
    assert reports[other_org.slug]["erased"] == 0
    assert not status(org, ours).is_active
    assert status(other_org, theirs).is_active


def test_scheduler_once(org: Organization) -> None:
    make(org, timezone.now() - 4 * 365 * DAY, email="")
    out = StringIO()
    # The test settings run tasks immediately: queueing runs the pass.
    call_command("run_scheduler", "--once", stdout=out)
    assert "queued for" in out.getvalue()
    with tenancy.tenant_context(org):
        assert Customer.objects.filter(status=CustomerStatus.ERASED).count() == 1
    out = StringIO()
    call_command("run_retention", stdout=out)
    assert f"{org.slug}: 0 warned, 0 anonymised" in out.getvalue()
