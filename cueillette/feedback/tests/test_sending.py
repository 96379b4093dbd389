"""Sending surveys: delay, consent, sampling, the interval between two surveys, the email."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.customers import services as customer_services
from cueillette.customers.models import ConsentEvent
from cueillette.feedback import services, tasks
from cueillette.feedback.models import Survey
from cueillette.loyalty.models import Refund

from .conftest import make_member, make_purchase

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("feedback test")


def _send(now: dt.datetime, capture: Any) -> services.SendReport:
    with capture(execute=True):
        return services.send_due(now)


def test_survey_waits_for_the_delay_then_goes_once(
    tenant: Organization, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    customer, card = make_member(tenant)
    bought = timezone.now() - dt.timedelta(hours=2)
    purchase = make_purchase(card, bought)
    assert _send(bought + dt.timedelta(hours=23), django_capture_on_commit_callbacks).sent == 0
    report = _send(bought + dt.timedelta(hours=25), django_capture_on_commit_callbacks)
    assert report.sent == 1
    survey = Survey.objects.get()
    assert survey.purchase == purchase
    assert survey.customer == customer
    # Tied to the consent under which it was asked: the current FEEDBACK grant.
    grant = ConsentEvent.objects.get(customer=customer, purpose="feedback")
    assert survey.consent == grant and grant.granted
    assert survey.answered_at is None and survey.score is None
    assert survey.expires_at == survey.sent_at + dt.timedelta(days=14)
    assert AuditEvent.objects.filter(action="feedback.survey_sent", object_id=survey.pk).exists()
    # A rerun sends nothing more.
    assert _send(bought + dt.timedelta(hours=26), django_capture_on_commit_callbacks).sent == 0
    assert Survey.objects.count() == 1
    assert len(mailoutbox) == 1


def test_the_email_has_eleven_score_links_and_one_click_unsubscribe(
    tenant: Organization, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    customer, card = make_member(tenant)
    make_purchase(card, timezone.now() - dt.timedelta(days=2))
    _send(timezone.now(), django_capture_on_commit_callbacks)
    [mail] = mailoutbox
    assert mail.to == [customer.email]
    links = re.findall(r"https?://\S+/survey/(\S+)/\?score=(\d+)", mail.body)
    assert [int(n) for _t, n in links] == list(range(11))
    assert len({t for t, _n in links}) == 1, "one survey, one token"
    html = mail.alternatives[0][0]
    assert html.count("?score=") == 11
    # The send gate's one-click link (it withdraws the feedback consent) and a mailto; the body
    # keeps the feedback page's own link, which does the same.
    unsubscribe = mail.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http") and f"/o/{tenant.slug}/unsubscribe/" in unsubscribe
    assert "<mailto:" in unsubscribe
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/feedback/stop/" in mail.body


def test_consent_and_email_are_required(
    tenant: Organization, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    at = timezone.now() - dt.timedelta(days=2)
    _never, card1 = make_member(tenant, feedback=False)
    _no_email, card2 = make_member(tenant, email=None)
    withdrawn, card3 = make_member(tenant)
    customer_services.record_consent(withdrawn, "feedback", False, source="portal", actor=ACTOR)
    other_purpose, card4 = make_member(tenant, feedback=False)
    customer_services.record_consent(other_purpose, "loyalty", True, source="counter", actor=ACTOR)
    for card in (card1, card2, card3, card4):
        make_purchase(card, at)
    assert _send(timezone.now(), django_capture_on_commit_callbacks).sent == 0
    assert not Survey.objects.exists()
    assert mailoutbox == []


def test_never_two_surveys_within_the_interval(
    tenant: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    settings_row = services.get_settings()
    assert settings_row.min_days_between == 90
    _customer, card = make_member(tenant)
    start = timezone.now() - dt.timedelta(days=200)
    make_purchase(card, start)
    assert _send(start + dt.timedelta(days=2), django_capture_on_commit_callbacks).sent == 1
    make_purchase(card, start + dt.timedelta(days=10))
    make_purchase(card, start + dt.timedelta(days=85))
    assert _send(start + dt.timedelta(days=12), django_capture_on_commit_callbacks).sent == 0
    assert _send(start + dt.timedelta(days=87), django_capture_on_commit_callbacks).sent == 0
    make_purchase(card, start + dt.timedelta(days=95))
    assert _send(start + dt.timedelta(days=97), django_capture_on_commit_callbacks).sent == 1
    sent = sorted(Survey.objects.values_list("sent_at", flat=True))
    assert sent[1] - sent[0] >= dt.timedelta(days=90)


def test_the_interval_is_configurable(
    tenant: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    services.update_settings(services.SettingsChange(min_days_between=30), actor=ACTOR)
    _customer, card = make_member(tenant)
    start = timezone.now() - dt.timedelta(days=100)
    make_purchase(card, start)
    make_purchase(card, start + dt.timedelta(days=35))
    assert _send(start + dt.timedelta(days=2), django_capture_on_commit_callbacks).sent == 1
    assert _send(start + dt.timedelta(days=37), django_capture_on_commit_callbacks).sent == 1


def test_visits_trigger_surveys_and_undone_or_refunded_purchases_do_not(
    tenant: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    at = timezone.now() - dt.timedelta(days=2)
    _a, visit_card = make_member(tenant)
    visit = make_purchase(visit_card, at, amount="0")
    _b, undone_card = make_member(tenant)
    undone = make_purchase(undone_card, at)
    Refund.objects.create(
        purchase=undone, amount=undone.amount, points=0, occurred_at=at, source="counter",
        reason="undo",
    )  # fmt: skip
    _c, refunded_card = make_member(tenant)
    refunded = make_purchase(refunded_card, at)
    type(refunded).objects.filter(pk=refunded.pk).update(refunded_amount=refunded.amount)
    assert _send(timezone.now(), django_capture_on_commit_callbacks).sent == 1
    assert Survey.objects.get().purchase == visit


def test_old_purchases_are_not_surveyed_late(
    tenant: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    _customer, card = make_member(tenant)
    make_purchase(card, timezone.now() - services.LOOKBACK - dt.timedelta(days=2))
    assert _send(timezone.now(), django_capture_on_commit_callbacks).sent == 0


def test_disabled_sends_nothing(
    tenant: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    services.update_settings(services.SettingsChange(enabled=False), actor=ACTOR)
    _customer, card = make_member(tenant)
    make_purchase(card, timezone.now() - dt.timedelta(days=2))
    assert _send(timezone.now(), django_capture_on_commit_callbacks).sent == 0


def test_sampling_is_deterministic_per_purchase(
    tenant: Organization, django_capture_on_commit_callbacks: Any
) -> None:
    services.update_settings(services.SettingsChange(sampling_rate=40), actor=ACTOR)
    at = timezone.now() - dt.timedelta(days=2)
    purchases = [make_purchase(make_member(tenant)[1], at) for _i in range(60)]
    expected = {p.pk for p in purchases if services.sampled(tenant.pk, p.pk, 40)}
    assert 0 < len(expected) < 60
    _send(timezone.now(), django_capture_on_commit_callbacks)
    got = set(Survey.objects.values_list("purchase_id", flat=True))
    assert got == expected
    # A rerun (even a day later, within the look-back) does not resample.
    _send(timezone.now() + dt.timedelta(days=1), django_capture_on_commit_callbacks)
    assert set(Survey.objects.values_list("purchase_id", flat=True)) == expected
    assert all(services.sampled(tenant.pk, p.pk, 100) for p in purchases)
    assert not any(services.sampled(tenant.pk, p.pk, 0) for p in purchases)


def test_segment_snapshot(tenant: Organization, django_capture_on_commit_callbacks: Any) -> None:
    _customer, card = make_member(tenant, tier_code="gold", heard_from="walk_by")
    make_purchase(card, timezone.now() - dt.timedelta(days=2))
    _send(timezone.now(), django_capture_on_commit_callbacks)
    survey = Survey.objects.get()
    assert (survey.tier_code, survey.came_from) == ("gold", "walk_by")
    # The snapshot does not move when the customer does.
    card.tier_code = ""
    card.save()
    survey.refresh_from_db()
    assert survey.tier_code == "gold"


def test_the_task_runs_for_one_organization(
    org: Organization, other_org: Organization, mailoutbox: list[Any]
) -> None:
    from cueillette.core import tenancy

    with tenancy.tenant_context(org):
        _c, card = make_member(org)
        make_purchase(card, timezone.now() - dt.timedelta(days=2))
    with tenancy.tenant_context(other_org):
        _d, card2 = make_member(other_org)
        make_purchase(card2, timezone.now() - dt.timedelta(days=2))
    result = tasks.send_surveys.call(org.pk, timezone.now().isoformat())
    assert result == {"sent": 1, "skipped": 0}
    with tenancy.tenant_context(other_org):
        assert not Survey.objects.exists()
    assert set(tasks.run_all()) >= {org.slug, other_org.slug}
    with tenancy.tenant_context(other_org):
        assert Survey.objects.count() == 1
