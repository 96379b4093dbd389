"""Automatic messages hear consequences (not pages) and go through the gate by their class."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cueillette.core import consequences
from cueillette.core.consequences import Consequence
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.messaging import services, tasks
from cueillette.messaging.models import AutomaticMessage, Delivery, PressureSettings, Reason, Status
from cueillette.messaging.tests.conftest import consent
from cueillette.messaging.tests.test_campaigns import staff

pytestmark = pytest.mark.django_db
YESTERDAY = timezone.now() - dt.timedelta(days=1)


def test_welcome_after_joining_only_with_consent(
    tenant: Organization,
    no_quiet: PressureSettings,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    member, stranger = (
        CustomerFactory(organization=tenant, first_name="Inès"),
        CustomerFactory(organization=tenant),
    )
    AutomaticMessage.objects.create(kind="welcome", enabled=True)  # off by default
    consent(member, "loyalty", at=YESTERDAY)
    with django_capture_on_commit_callbacks(execute=True):
        consequences.fire(
            Consequence.CUSTOMER_JOINED,
            organization_id=tenant.pk,
            customer=member,
            source="counter",
        )
        consequences.fire(
            Consequence.CUSTOMER_JOINED,
            organization_id=tenant.pk,
            customer=stranger,
            source="counter",
        )
        consequences.fire(
            Consequence.CUSTOMER_JOINED,
            organization_id=tenant.pk,
            customer=member,
            source="counter",
        )
    [mail] = mailoutbox
    assert mail.to == [member.email] and "Inès" in mail.body and tenant.name in mail.subject
    assert "/unsubscribe/" in mail.body and "List-Unsubscribe" in mail.extra_headers
    refused = Delivery.objects.get(customer=stranger)
    assert (refused.kind, refused.reason) == ("welcome", Reason.NO_CONSENT)


def test_the_owner_switches_off_and_rewrites(
    tenant: Organization,
    owner: Any,
    no_quiet: PressureSettings,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    customer = CustomerFactory(organization=tenant, first_name="Jules")
    consent(customer, "loyalty", at=YESTERDAY)
    services.update_automatic(
        staff(owner),
        "welcome",
        services.AutomaticInput(
            enabled=True,
            subject_fr="Coucou {first_name}",
            body_fr="Bienvenue chez {business}.",
        ),
    )
    with pytest.raises(services.ServiceError) as exc:
        services.update_automatic(
            staff(owner),
            "welcome",
            services.AutomaticInput(enabled=True, body_fr="![x](https://t.example/p.gif)"),
        )
    assert exc.value.field == "body_fr"
    with django_capture_on_commit_callbacks(execute=True):
        consequences.fire(
            Consequence.CUSTOMER_JOINED,
            organization_id=tenant.pk,
            customer=customer,
            source="counter",
        )
    assert mailoutbox[0].subject == "Coucou Jules"
    services.update_automatic(staff(owner), "welcome", services.AutomaticInput(enabled=False))
    other = CustomerFactory(organization=tenant)
    consent(other, "loyalty", at=YESTERDAY)
    with django_capture_on_commit_callbacks(execute=True):
        consequences.fire(
            Consequence.CUSTOMER_JOINED, organization_id=tenant.pk, customer=other, source="counter"
        )
    assert Delivery.objects.get(customer=other).reason == Reason.SWITCHED_OFF


def test_birthday_needs_the_personalised_offers_consent(
    tenant: Organization, no_quiet: PressureSettings
) -> None:
    AutomaticMessage.objects.create(kind="birthday", enabled=True)
    today = timezone.now().astimezone(tenant.tz).date()
    born = (
        today.replace(year=1990)
        if not (today.month == 2 and today.day == 29)
        else dt.date(1992, 2, 29)
    )
    with_both = CustomerFactory(organization=tenant, birthday=born)
    news_only = CustomerFactory(organization=tenant, birthday=born)
    for c in (with_both, news_only):
        consent(c, "news_email", at=YESTERDAY)
    consent(with_both, "profiling", at=YESTERDAY)
    assert tasks.birthdays(timezone.now()) == 2
    assert Delivery.objects.get(customer=with_both).status == Status.QUEUED
    assert Delivery.objects.get(customer=news_only).reason == Reason.NO_CONSENT
    tasks.birthdays(timezone.now())  # the daily pass again: once a year
    assert Delivery.objects.count() == 2


def test_we_miss_you_after_n_weeks_and_counted_in_the_cap(
    tenant: Organization, no_quiet: PressureSettings
) -> None:
    AutomaticMessage.objects.create(kind="we_miss_you", enabled=True, weeks=6)
    now = timezone.now()
    gone = CustomerFactory(organization=tenant, last_activity_at=now - dt.timedelta(weeks=7))
    recent = CustomerFactory(organization=tenant, last_activity_at=now - dt.timedelta(weeks=2))
    for c in (gone, recent):
        consent(c, "news_email", at=now - dt.timedelta(weeks=20))
    assert tasks.we_miss_you(now) == 1
    d = Delivery.objects.get()
    assert d.customer_id == gone.pk and d.klass == "marketing"
    assert tasks.we_miss_you(now + dt.timedelta(days=1)) == 1 and Delivery.objects.count() == 1


def test_reward_available_from_the_consequence_and_the_daily_scan(
    tenant: Organization,
    no_quiet: PressureSettings,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    from cueillette.loyalty.models import Card, Reward

    customer = CustomerFactory(organization=tenant)
    consent(customer, "loyalty", at=YESTERDAY)
    # The loyalty consent issues the card (loyalty follows CONSENT_CHANGED).
    Card.objects.filter(customer=customer).update(balance=120)
    card = Card.objects.get(customer=customer)
    reward = Reward.objects.create(name="Un café offert", cost=100)
    with django_capture_on_commit_callbacks(execute=True):
        consequences.fire(
            Consequence.REWARD_AVAILABLE, organization_id=tenant.pk, card=card, reward=reward
        )
    assert "Un café offert" in mailoutbox[0].body
    assert tasks.rewards_reached(timezone.now()) == 0  # the same news, already decided: once
    assert Delivery.objects.filter(kind="reward_available").count() == 1


def test_the_settings_page_lists_every_automatic_message(owner_client: Client) -> None:
    page = owner_client.get(reverse("messaging:automatic")).content.decode()
    for code in (
        "welcome",
        "reward_available",
        "points_expiring",
        "birthday",
        "we_miss_you",
        "thread_reply",
        "nps_request",
        "event_reminder",
        "event_feedback",
    ):
        assert f'id="auto-{code}"' in page
    r = owner_client.post(reverse("messaging:automatic"), {"kind": "nps_request"})
    assert r.status_code == 302
    r = owner_client.post(
        reverse("messaging:pressure"),
        {
            "max_marketing": 1,
            "window_days": 14,
            "quiet_start": "22:00",
            "quiet_end": "07:30",
            "per_second": 5,
        },
    )
    assert r.status_code == 302


def test_end_to_end_through_the_real_actions(
    tenant: Organization,
    owner: Any,
    no_quiet: PressureSettings,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The counter registers a member (customers.create_customer fires customer.joined): the
    welcome leaves once switched on; a later withdrawal from the staff page stops messages."""
    from cueillette.core.audit import Actor
    from cueillette.customers import services as customer_services

    services.update_automatic(staff(owner), "welcome", services.AutomaticInput(enabled=True))
    with django_capture_on_commit_callbacks(execute=True):
        member = customer_services.create_customer(
            customer_services.CustomerInput.of(
                {"first_name": "Rose", "last_name": "Vidal", "email": "rose.vidal@example.net"}
            ),
            actor=Actor.staff(owner, "owner"),
            consents={"loyalty": True},
        )
        customer_services.create_customer(
            customer_services.CustomerInput.of(
                {"first_name": "Imported", "last_name": "Row", "email": "imported@example.net"}
            ),
            actor=Actor.system("import"),
            source="import",
            consents={"loyalty": True},
        )
    assert [m.to for m in mailoutbox] == [["rose.vidal@example.net"]]
    assert "Rose" in mailoutbox[0].body
    d = Delivery.objects.get(customer=member)
    assert d.consent_event is not None and d.consent_event.purpose == "loyalty"
