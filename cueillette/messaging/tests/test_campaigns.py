"""Campaigns through the pages and services: clear errors on bad input, the audience with its
exclusions in numbers, a test send, sending exactly once (double click, retried task, a worker
killed mid-send) and resuming where it stopped."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cueillette.accounts.models import User
from cueillette.core.audit import Actor
from cueillette.core.errors import Forbidden
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.messaging import audience, delivery, services, tasks
from cueillette.messaging.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    PressureSettings,
    Reason,
    Segment,
    Status,
)
from cueillette.messaging.tests.conftest import consent

pytestmark = pytest.mark.django_db
YESTERDAY = timezone.now() - dt.timedelta(days=1)


def staff(user: User, role: str = "owner") -> services.Staff:
    return services.Staff(actor=Actor.staff(user, role), role=role)


def people(org: Organization) -> dict[str, Any]:
    """A segment of six: two who may receive, and one of each exclusion."""
    make = lambda **kw: CustomerFactory(organization=org, postal_code="69001", **kw)  # noqa: E731
    yes_fr, yes_en = make(language="fr"), make(language="en")
    never = make()
    left = make()
    bounced = make()
    no_email = make(email="")
    for c in (yes_fr, yes_en, left, bounced):
        consent(c, "news_email", at=YESTERDAY)
    consent(left, "news_email", False, at=YESTERDAY + dt.timedelta(hours=1))
    services.suppress(bounced.email, "hard_bounce")
    CustomerFactory(organization=org, postal_code="13001")  # outside the segment
    return {
        "yes": [yes_fr, yes_en],
        "never": never,
        "left": left,
        "bounced": bounced,
        "no_email": no_email,
    }


def draft(owner: User, **kw: Any) -> Campaign:
    seg = Segment.objects.create(name="Lyon", filters={"postal_prefix": "69"})
    data = services.CampaignInput(
        name="Printemps",
        subject_fr="Le printemps arrive",
        body_fr="Bonjour {first_name}, **venez** voir.",
        subject_en="Spring is here",
        body_en="Hello, come and see.",
        segment_id=seg.pk,
        **kw,
    )
    return services.save_campaign(staff(owner), data)


def test_bad_input_gets_clear_errors_naming_the_field(tenant: Organization, owner: User) -> None:
    who = staff(owner)
    cases = [
        ({"subject_fr": "", "body_fr": "x"}, "empty_subject", "subject_fr"),
        ({"subject_fr": "x", "body_fr": "<script>alert(1)</script>"}, "unsafe_body", "body_fr"),
        (
            {"subject_fr": "x", "body_fr": "![pixel](https://tracker.example/p.gif)"},
            "remote_image",
            "body_fr",
        ),
        (
            {"subject_fr": "x", "body_fr": '<img src="https://x.example/a.png">'},
            "remote_image",
            "body_fr",
        ),
        (
            {"subject_fr": "x", "body_fr": '<a href="#" onclick="x()">a</a>'},
            "unsafe_body",
            "body_fr",
        ),
        (
            {"subject_fr": "x", "body_fr": "ok", "subject_en": "only a subject"},
            "empty_body",
            "body_en",
        ),
    ]
    for fields, code, field in cases:
        with pytest.raises(services.ServiceError) as exc:
            services.save_campaign(who, services.CampaignInput(name="c", **fields))
        assert (exc.value.code, exc.value.field) == (code, field), fields
    c = services.save_campaign(who, services.CampaignInput(name="c", subject_fr="x", body_fr="y"))
    with pytest.raises(services.ServiceError) as exc:
        services.send_campaign(who, c)
    assert exc.value.field == "segment"
    c.segment = Segment.objects.create(name="Nobody", filters={"postal_prefix": "99999"})
    c.save()
    with pytest.raises(services.ServiceError) as exc:
        services.send_campaign(who, c)
    assert exc.value.code == "empty_audience"
    CustomerFactory(organization=tenant, postal_code="99999")
    with pytest.raises(services.ServiceError) as exc:
        services.send_campaign(who, c, when=timezone.now() - dt.timedelta(minutes=5))
    assert exc.value.code == "scheduled_in_past"
    with pytest.raises(services.ServiceError) as exc:  # one customer, no consent: nobody to send to
        services.send_campaign(who, c)
    assert exc.value.code == "empty_audience"


def test_the_audience_shows_who_is_excluded_and_why(
    tenant: Organization, owner: User, no_quiet: PressureSettings
) -> None:
    group = people(tenant)
    c = draft(owner)
    result = audience.decide_audience(c)
    assert result.total == 6 and result.sending == 2
    # Never asked, and withdrawn at the counter: no consent; a hard bounce; no address.
    assert result.excluded == {Reason.NO_CONSENT: 2, Reason.BOUNCED: 1, Reason.NO_ADDRESS: 1}
    assert group["left"].pk not in audience.decide_audience(c, keep_recipients=True).recipients


def test_send_delivers_each_message_once_in_the_customers_language(
    tenant: Organization,
    owner: User,
    no_quiet: PressureSettings,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    group = people(tenant)
    c = draft(owner)
    with django_capture_on_commit_callbacks(execute=True):
        services.send_campaign(staff(owner), c)
        services.send_campaign(staff(owner), c)  # a double click
    assert sorted(m.to[0] for m in mailoutbox) == sorted(x.email for x in group["yes"])
    by_to = {m.to[0]: m for m in mailoutbox}
    assert by_to[group["yes"][0].email].subject == "Le printemps arrive"
    assert by_to[group["yes"][1].email].subject == "Spring is here"
    c.refresh_from_db()
    assert c.status == CampaignStatus.SENT
    # A retried task decides nobody twice and sends nothing more.
    tasks.dispatch(c)
    assert len(mailoutbox) == 2
    assert Delivery.objects.filter(campaign=c).count() == 6
    reasons = dict(
        Delivery.objects.filter(campaign=c, status=Status.REFUSED).values_list(
            "customer_id", "reason"
        )
    )
    assert reasons[group["bounced"].pk] == Reason.BOUNCED
    assert reasons[group["no_email"].pk] == Reason.NO_ADDRESS


def test_a_worker_killed_mid_send_resumes_where_it_stopped(
    tenant: Organization,
    owner: User,
    no_quiet: PressureSettings,
    mailoutbox: list[Any],
    monkeypatch: Any,
) -> None:
    for _ in range(5):
        consent(
            CustomerFactory(organization=tenant, postal_code="69002"), "news_email", at=YESTERDAY
        )
    c = draft(owner)
    Campaign.objects.filter(pk=c.pk).update(
        status=CampaignStatus.SENDING, started_at=timezone.now()
    )
    c.refresh_from_db()
    calls = {"n": 0}
    real = services.gate.request_campaign_batch
    monkeypatch.setattr(tasks, "BATCH", 2)  # decided two by two

    def dying(msgs: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return real(msgs, **kw)

    monkeypatch.setattr(services.gate, "request_campaign_batch", dying)
    with pytest.raises(SystemExit):
        tasks.dispatch(c)
    monkeypatch.setattr(services.gate, "request_campaign_batch", real)
    assert Delivery.objects.filter(campaign=c).count() == 2
    # One message was claimed but the worker died before the hand-off: a stale claim.
    stuck = Delivery.objects.filter(campaign=c).first()
    assert stuck is not None
    Delivery.objects.filter(pk=stuck.pk).update(
        status=Status.SENDING, claimed_at=timezone.now() - dt.timedelta(hours=1)
    )
    tasks.dispatch(c)
    delivered = tasks.send_due(timezone.now())
    assert delivered["sent"] == 5
    assert Delivery.objects.filter(campaign=c).count() == 5
    assert len({m.to[0] for m in mailoutbox}) == len(mailoutbox) == 5
    assert delivery.deliver(list(Delivery.objects.values_list("pk", flat=True)))["sent"] == 0


def test_scheduled_campaigns_leave_at_their_time(
    tenant: Organization, owner: User, no_quiet: PressureSettings
) -> None:
    people(tenant)
    c = draft(owner)
    when = timezone.now() + dt.timedelta(hours=2)
    services.send_campaign(staff(owner), c, when=when)
    c.refresh_from_db()
    assert c.status == CampaignStatus.SCHEDULED
    assert tasks.start_due_campaigns(timezone.now()) == 0
    assert tasks.start_due_campaigns(when + dt.timedelta(minutes=1)) == 1
    assert Delivery.objects.filter(campaign=c, status=Status.QUEUED).count() == 2


def test_test_send_goes_to_me_in_both_languages(
    tenant: Organization,
    owner: User,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    c = draft(owner)
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.test_send(staff(owner), c)
    assert len(sent) == 2 and {m.to[0] for m in mailoutbox} == {owner.email}
    assert all(m.subject.startswith("[") for m in mailoutbox)


def test_counter_staff_cannot_send(tenant: Organization, owner: User, counter: User) -> None:
    c = draft(owner)
    with pytest.raises(Forbidden):
        services.send_campaign(staff(counter, "counter"), c)


# --------------------------------------------------------------------------- pages


def test_pages_build_send_and_report(
    org: Organization,
    owner_client: Client,
    counter_client: Client,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    from cueillette.core.tenancy import tenant_context

    with tenant_context(org):
        PressureSettings.objects.create(quiet_start=dt.time(0), quiet_end=dt.time(0))
        group = people(org)
    assert counter_client.get(reverse("messaging:campaigns")).status_code == 403
    page = owner_client.get(reverse("messaging:campaigns"))
    assert page.status_code == 200 and reverse("messaging:campaign_new") in page.content.decode()
    r = owner_client.post(reverse("messaging:segment_new"), {"name": "Lyon", "postal_prefix": "69"})
    assert r.status_code == 302
    with tenant_context(org):
        seg = Segment.objects.get()
    r = owner_client.post(
        reverse("messaging:campaign_new"),
        {
            "name": "Fête",
            "segment": seg.pk,
            "subject_fr": "",
            "body_fr": "x",
            "holdout_percent": 0,
            "results_days": 14,
        },
    )
    assert r.status_code == 400 and "écrivez un objet" in r.content.decode()  # French first
    r = owner_client.post(
        reverse("messaging:campaign_new"),
        {
            "name": "Fête",
            "segment": seg.pk,
            "subject_fr": "La fête",
            "body_fr": "Venez **nombreux**",
            "holdout_percent": 0,
            "results_days": 14,
        },
    )
    assert r.status_code == 302
    with tenant_context(org):
        c = Campaign.objects.get()
    page = owner_client.get(reverse("messaging:campaign", args=[c.pk])).content.decode()
    assert 'data-reason="bounced">1<' in page and 'data-reason="no_address">1<' in page
    preview = owner_client.post(reverse("messaging:preview"), {"body": "**gras** <img src=x>"})
    assert preview.status_code == 400
    preview = owner_client.post(reverse("messaging:preview"), {"body": "**gras**"})
    assert preview.content.decode().strip() == "<p><strong>gras</strong></p>"
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("messaging:campaign_act", args=[c.pk, "send"]))
    assert len(mailoutbox) == 2
    report = owner_client.get(reverse("messaging:campaign", args=[c.pk])).content.decode()
    assert 'id="sent-count">2<' in report
    # The customer record says what they received and why.
    record = owner_client.get(
        reverse("customers:detail", args=[group["yes"][0].pk])
    ).content.decode()
    assert 'id="messages-received"' in record and "La fête" in record
    for name in ("segments", "automatic", "pressure", "suppressions"):
        assert owner_client.get(reverse(f"messaging:{name}")).status_code == 200


def test_the_audience_reads_only_its_own_organizations_facts(
    other_org: Organization, tenant: Organization, owner: User, no_quiet: PressureSettings
) -> None:
    """The decision is one SQL statement: each table is filtered by organization there, so
    another business's suppression, pause or messages for the same address change nothing."""
    from cueillette.core.tenancy import tenant_context
    from cueillette.messaging.models import Preference

    mine = CustomerFactory(organization=tenant, postal_code="69001", email="same@exemple.fr")
    consent(mine, "news_email", at=YESTERDAY)
    with tenant_context(other_org):
        theirs = CustomerFactory(
            organization=other_org, postal_code="69001", email="same@exemple.fr"
        )
        consent(theirs, "news_email", at=YESTERDAY)
        services.suppress("same@exemple.fr", "hard_bounce")
        Preference.objects.create(
            customer=theirs, paused_until=timezone.now() + dt.timedelta(days=9)
        )
    c = draft(owner)
    result = audience.decide_audience(c, keep_recipients=True)
    assert (result.total, result.sending, result.recipients) == (1, 1, [mine.pk])
