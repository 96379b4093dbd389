"""Periodic tasks: expiry at the boundary, expiry warnings sent once, the monthly tier review."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent
from cueillette.core.tests.factories import CustomerFactory
from cueillette.loyalty import queries, rules, services, tasks
from cueillette.loyalty.models import Card, EntryKind, PointsEntry, Program, Tier

DAY = dt.timedelta(days=1)


@pytest.fixture
def staff(owner):
    return Actor.staff(owner, "owner")


def set_program(org, **fields):
    with tenancy.tenant_context(org):
        program = services.get_program()
        for k, v in fields.items():
            setattr(program, k, v)
        program.save()
        return program


def member(org, staff, **customer_fields):
    with tenancy.tenant_context(org):
        customer = CustomerFactory(organization=org, **customer_fields)
        return services.join_program(customer, actor=staff)


def buy(org, card, staff, amount, at):
    with tenancy.tenant_context(org):
        return services.record_purchase(
            card, amount=amount, actor=staff, occurred_at=at, receipt_id=f"R-{at.timestamp()}"
        )


def card_state(org, card):
    with tenancy.tenant_context(org):
        return Card.objects.get(pk=card.pk)


# --------------------------------------------------------------------------- expiry


def test_expiry_happens_exactly_at_the_end_of_the_last_day(org, other_org, staff):
    set_program(org, expiry_months=1, welcome_bonus=0)
    card = member(org, staff)
    earned_at = timezone.now() - 45 * DAY
    buy(org, card, staff, "30", earned_at)
    expires = rules.expiry_instant(earned_at, 1, org.tz)
    # The last valid day is the local earning day plus one month; expiry is the next midnight.
    last_day = rules.add_months(rules.local_date(earned_at, org.tz), 1)
    assert expires == rules.start_of_local_day(last_day + DAY, org.tz)

    before = (expires - dt.timedelta(microseconds=1)).isoformat()
    assert tasks.expire_points.call(org.pk, now=before) == 0
    assert card_state(org, card).balance == 30
    assert tasks.expire_points.call(org.pk, now=expires.isoformat()) == 30
    assert card_state(org, card).balance == 0
    with tenancy.tenant_context(org):
        expiry = PointsEntry.objects.get(kind=EntryKind.EXPIRY)
    assert expiry.points == -30 and expiry.occurred_at == expires
    # Running again writes nothing more; another organization is untouched.
    assert tasks.expire_points.call(org.pk, now=expires.isoformat()) == 0
    assert tasks.expire_points.call(other_org.pk) == 0


# --------------------------------------------------------------------------- warnings


def warning_setup(org, staff, days=30):
    """A member with 25 points expiring in about 10 days, and 40 more in about 70 days."""
    set_program(org, expiry_months=12, expiry_warning_days=days, welcome_bonus=0)
    card = member(org, staff, email="marie@example.net", language="fr")
    now = timezone.now()
    soon = rules.start_of_local_day(rules.add_months(rules.local_date(now, org.tz), -12), org.tz)
    buy(org, card, staff, "25", soon + 10 * DAY + dt.timedelta(hours=12))
    buy(org, card, staff, "40", soon + 70 * DAY + dt.timedelta(hours=12))
    return card, now


def test_expiry_warning_sent_once_by_real_smtp(
    org, staff, smtp_server, django_capture_on_commit_callbacks
):
    card, now = warning_setup(org, staff)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_expiry_warnings.call(org.pk, now=now.isoformat()) == 1
    [message] = smtp_server.wait_for(1)
    assert message["X-Envelope-To"] == "marie@example.net"
    body = smtp_server.body(message)
    assert "25 points" in body
    assert "40 points" not in body  # 70 days away: beyond two warning periods
    assert "programme" in body.lower() or "program" in body.lower()
    assert "/o/cabinet-lumiere/" in body
    html = smtp_server.body(message, "html")
    assert "25 points" in html
    warned = card_state(org, card).expiry_warned_for
    with tenancy.tenant_context(org):
        lines = queries.expiring_soon(card_state(org, card), now, 30)
    assert warned == lines[0].last_day

    # The next days: nothing new to warn about, nothing sent.
    for later in (now + DAY, now + 5 * DAY):
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.send_expiry_warnings.call(org.pk, now=later.isoformat()) == 0
    assert len(smtp_server.messages) == 1
    with tenancy.tenant_context(org):
        assert AuditEvent.objects.filter(action="loyalty.expiry_warned").count() == 1


def test_a_new_batch_date_is_warned_later(
    org, staff, mailoutbox, django_capture_on_commit_callbacks
):
    card, now = warning_setup(org, staff)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_expiry_warnings.call(org.pk, now=now.isoformat())
    assert len(mailoutbox) == 1
    # 45 days later the second batch (about 25 days away) enters the warning period.
    later = now + 45 * DAY
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_expiry_warnings.call(org.pk, now=later.isoformat()) == 1
    assert len(mailoutbox) == 2
    assert "40 points" in mailoutbox[1].body
    assert "25 points" not in mailoutbox[1].body  # already past
    assert card_state(org, card).expiry_warned_for > card_state(org, card).opened_at.date()


def test_no_warning_email_without_address_or_membership(
    org, staff, mailoutbox, django_capture_on_commit_callbacks
):
    set_program(org, expiry_months=12, expiry_warning_days=30, welcome_bonus=0)
    now = timezone.now()
    soon = rules.start_of_local_day(rules.add_months(rules.local_date(now, org.tz), -12), org.tz)
    silent = member(org, staff, email="")
    gone = member(org, staff, email="left@example.net")
    for i, c in enumerate((silent, gone)):
        buy(org, c, staff, "10", soon + (5 + i) * DAY)
    with tenancy.tenant_context(org):
        services.leave_program(gone, actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_expiry_warnings.call(org.pk, now=now.isoformat()) == 0
    assert mailoutbox == []
    # The member without email still sees it in their space (same read).
    with tenancy.tenant_context(org):
        assert sum(x.points for x in queries.expiring_soon(card_state(org, silent), now, 30)) == 10


def test_no_warning_when_disabled(org, staff, mailoutbox, django_capture_on_commit_callbacks):
    _card, now = warning_setup(org, staff, days=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_expiry_warnings.call(org.pk, now=now.isoformat()) == 0
    assert mailoutbox == []


# --------------------------------------------------------------------------- tiers


def test_tier_review_downgrades_only_at_the_review(org, staff):
    set_program(org, welcome_bonus=0, expiry_months=None)
    with tenancy.tenant_context(org):
        Tier.objects.create(code="argent", name="Argent", threshold=100)
    card = member(org, staff)
    # Earned on the 11th of last month: it counts through the 11th of that month next year.
    last_month = rules.add_months(rules.local_date(timezone.now(), org.tz).replace(day=1), -1)
    earned_at = rules.start_of_local_day(last_month + 10 * DAY, org.tz) + dt.timedelta(hours=12)
    buy(org, card, staff, "150", earned_at)
    assert card_state(org, card).tier_code == "argent"  # earning upgrades at once

    leaves = rules.window_end(earned_at, org.tz)
    month_of_drop = rules.local_date(leaves, org.tz).replace(day=1)
    review_before = rules.start_of_local_day(month_of_drop + DAY, org.tz)  # the 2nd
    assert review_before < leaves
    assert tasks.review_tiers.call(org.pk, now=review_before.isoformat()) == 0
    assert card_state(org, card).tier_code == "argent"

    # The points left the 12-month window, but this month's review is done: tier kept.
    after_drop = leaves + dt.timedelta(hours=1)
    assert tasks.review_tiers.call(org.pk, now=after_drop.isoformat()) == 0
    assert card_state(org, card).tier_code == "argent"

    # The next monthly review (the 1st, local midnight) downgrades.
    next_review = rules.next_review_instant(after_drop, org.tz)
    assert tasks.review_tiers.call(org.pk, now=next_review.isoformat()) == 1
    state = card_state(org, card)
    assert state.tier_code == "" and state.tier_reviewed_at == next_review
    with tenancy.tenant_context(org):
        event = AuditEvent.objects.filter(action="loyalty.tier_changed").latest("id")
    assert event.data["trigger"] == "review" and event.data["tier"] == ""


# --------------------------------------------------------------------------- scheduler


def test_daily_pass_through_the_scheduler(org, staff, mailoutbox):
    set_program(org, expiry_months=1, welcome_bonus=0)
    card = member(org, staff)
    buy(org, card, staff, "12", timezone.now() - 80 * DAY)
    out = StringIO()
    call_command("run_scheduler", "--once", stdout=out)
    assert "loyalty pass queued for" in out.getvalue()
    assert card_state(org, card).balance == 0
    result = tasks.daily.call(org.pk)
    assert result == {"expired": 0, "warned": 0, "tiers_changed": 0}
    assert tasks.daily.call(999_999) == {}
    with tenancy.tenant_context(org):
        assert Program.objects.count() == 1
