"""Periodic referral work, one organization at a time (``run_scheduler`` runs it daily).

* :func:`apply_review_defaults`: flagged referrals left unreviewed past their deadline take
  the organization's default (accept or reject), see ``services.apply_review_defaults``.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.referrals import services


def _now(now: str | dt.datetime | None) -> dt.datetime:
    if now is None:
        return timezone.now()
    value = dt.datetime.fromisoformat(now) if isinstance(now, str) else now
    if timezone.is_naive(value):
        raise ValueError("now must be timezone-aware")
    return value


def run_daily(org: Organization, now: dt.datetime | None = None) -> dict[str, int]:
    with tenant_context(org):
        return {"review_defaults": services.apply_review_defaults(now or timezone.now())}


@task()
def daily(org_id: int, now: str | None = None) -> dict[str, int]:
    """The daily referral pass of one organization (queued by ``run_scheduler``)."""
    org = Organization.objects.filter(pk=org_id).first()
    return run_daily(org, _now(now)) if org else {}


def run_all(now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """Every organization, inline (``run_scheduler --inline``)."""
    # Organizations are not tenant rows: listing them all is the scheduler's job.
    return {org.slug: run_daily(org, now) for org in Organization.objects.all()}


def enqueue_all() -> int:
    """Queue the daily referral pass for every organization; returns how many were queued."""
    count = 0
    for org_id in Organization.objects.values_list("pk", flat=True):
        daily.enqueue(org_id)
        count += 1
    return count
