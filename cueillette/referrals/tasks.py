"""Periodic referral work, one organization at a time (``run_scheduler`` runs it daily).

* :func:`apply_review_defaults`: flagged referrals left unreviewed past their deadline take
  the organization's default (accept or reject), see ``services.apply_review_defaults``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tasks import task

from cueillette.core import scheduling
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.referrals import services


def run_daily(org: Organization, now: dt.datetime | None = None) -> dict[str, int]:
    with tenant_context(org):
        return {"review_defaults": services.apply_review_defaults(now or timezone.now())}


@task()
def daily(org_id: int, now: str | None = None) -> dict[str, int]:
    """The daily referral pass of one organization (queued by ``run_scheduler``)."""
    org = scheduling.organization(org_id)
    return run_daily(org, scheduling.parse_now(now)) if org else {}


def run_all(now: dt.datetime | None = None) -> dict[str, Any]:
    """Every organization, inline (``run_scheduler --inline``)."""
    return scheduling.run_for_each(run_daily, now)


def enqueue_all() -> int:
    """Queue the pass for every organization (``run_scheduler``); how many were queued."""
    return scheduling.enqueue_for_each(daily)
