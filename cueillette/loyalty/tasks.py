"""Periodic loyalty work, one organization at a time (``run_scheduler`` queues it daily).

* :func:`expire_points`: record every expiry that is due (``services.expire_due``).
* :func:`send_expiry_warnings`: tell members about points about to expire.
* :func:`review_tiers`: the monthly tier review (``services.review_tiers``); run daily, it only
  touches members not yet reviewed since the 1st of the month, so it is a monthly review that
  catches up after a missed day.

Expiry warnings, the rule:

* who: open cards holding points that expire within the program's ``expiry_warning_days``;
* by email only if the customer has an address and their loyalty consent is current (the
  warning is a service message about the program they joined, so that consent is its legal
  basis; leaving the program withdraws it and stops the warnings). Members without email see
  the same warning in their space (:func:`cueillette.loyalty.queries.expiring_soon`);
* once per batch date: ``Card.expiry_warned_for`` records the last expiry date a warning
  covered, and only points expiring after it trigger a new email;
* not every day: an email lists every date expiring within TWICE the warning period, so the
  next one cannot come before a warning period has passed, even for a customer who earns
  points every day.

Every function takes ``now=`` (ISO text for the tasks, so a run can be replayed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from cueillette.core import audit, scheduling
from cueillette.core.audit import Actor
from cueillette.core.mail import send_templated
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.customers.models import CustomerStatus, Purpose
from cueillette.customers.services import has_consent
from cueillette.loyalty import queries, services
from cueillette.loyalty.models import Card, Program

ACTOR_LABEL = "loyalty"


def may_email_warning(card: Card) -> bool:
    customer = card.customer
    return (
        card.is_open
        and customer.status == CustomerStatus.ACTIVE
        and bool(customer.email)
        and has_consent(customer, Purpose.LOYALTY)
    )


@transaction.atomic
def _warn(org: Organization, program: Program, card: Card, notice: queries.ExpiryNotice) -> None:
    customer = card.customer
    url = settings.SITE_URL + reverse("public:portal_request", kwargs={"slug": org.slug})
    send_templated(
        "loyalty/email/expiry_warning",
        customer.email,
        {
            "organization": org,
            "program": program,
            "card": card,
            "lines": notice.lines,
            "points": notice.points,
            "first_day": notice.first_day,
            "url": url,
        },
        language=customer.language or org.language,
        kind="points_expiring",
        klass="service",
        customer=customer,
        purposes=("loyalty",),
    )
    # update(): a warning is not a change of the card (and must not race a purchase's F()).
    Card.objects.filter(pk=card.pk).update(expiry_warned_for=notice.last_day)
    audit.record(
        Actor.system(ACTOR_LABEL),
        "loyalty.expiry_warned",
        card,
        points=notice.points,
        first_day=notice.first_day.isoformat(),
        last_day=notice.last_day.isoformat(),
    )


def warn_expiring(org: Organization, now: dt.datetime | None = None) -> int:
    """Send the due expiry warnings of one organization; returns how many emails went out."""
    now = now or timezone.now()
    sent = 0
    with tenant_context(org):
        program = services.get_program()
        days = program.expiry_warning_days
        if not days:
            return 0
        for card in queries.cards_with_points_expiring(now, days):
            soon = queries.expiring_soon(card, now, days)
            warned = card.expiry_warned_for
            if not any(warned is None or line.last_day > warned for line in soon):
                continue
            if not may_email_warning(card):
                continue
            # One email covers two warning periods ahead: at most one per period.
            lines = queries.expiring_soon(card, now, 2 * days)
            _warn(org, program, card, queries.ExpiryNotice(card, lines))
            sent += 1
    return sent


def expire(org: Organization, now: dt.datetime | None = None) -> int:
    with tenant_context(org):
        return services.expire_due(now or timezone.now())


def review(org: Organization, now: dt.datetime | None = None) -> int:
    with tenant_context(org):
        return services.review_tiers(now or timezone.now())


@task()
def expire_points(org_id: int, now: str | None = None) -> int:
    """Record the due expiries of one organization; returns the points expired."""
    org = scheduling.organization(org_id)
    return expire(org, scheduling.parse_now(now)) if org else 0


@task()
def send_expiry_warnings(org_id: int, now: str | None = None) -> int:
    """Warn members of one organization whose points expire soon; returns emails sent."""
    org = scheduling.organization(org_id)
    return warn_expiring(org, scheduling.parse_now(now)) if org else 0


@task()
def review_tiers(org_id: int, now: str | None = None) -> int:
    """The monthly tier review of one organization; returns how many tiers changed."""
    org = scheduling.organization(org_id)
    return review(org, scheduling.parse_now(now)) if org else 0


def run_daily(org: Organization, now: dt.datetime | None = None) -> dict[str, int]:
    """The daily loyalty pass of one organization, in order: expire what is due (so a
    warning never announces points already gone), warn, review tiers."""
    now = now or timezone.now()
    return {
        "expired": expire(org, now),
        "warned": warn_expiring(org, now),
        "tiers_changed": review(org, now),
    }


@task()
def daily(org_id: int, now: str | None = None) -> dict[str, int]:
    """The daily loyalty pass of one organization (queued by ``run_scheduler``)."""
    org = scheduling.organization(org_id)
    return run_daily(org, scheduling.parse_now(now)) if org else {}


def run_all(now: dt.datetime | None = None) -> dict[str, Any]:
    """Every organization, inline (``run_scheduler --inline``)."""
    return scheduling.run_for_each(run_daily, now)


def enqueue_all() -> int:
    """Queue the pass for every organization (``run_scheduler``); how many were queued."""
    return scheduling.enqueue_for_each(daily)
