"""The nightly refresh of every organization's figures (``run_scheduler``'s daily pass)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django_tasks import task

from cueillette.core import scheduling
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.insights import services

ACTOR = Actor.system("nightly insights refresh")


def run_daily(org: Organization, now: dt.datetime | None = None) -> dict[str, Any]:
    with tenant_context(org):
        done = services.refresh(actor=ACTOR, now=now)
    return {"status": done.run.status, "customers": done.scores_written}


@task()
def daily(org_id: int, now: str | None = None) -> dict[str, Any]:
    """The refresh of one organization (queued by ``run_scheduler``)."""
    org = scheduling.organization(org_id)
    return run_daily(org, scheduling.parse_now(now)) if org else {}


def run_all(now: dt.datetime | None = None) -> dict[str, Any]:
    """Every organization, inline (``run_scheduler --inline``)."""
    return scheduling.run_for_each(run_daily, now)


def enqueue_all() -> int:
    """Queue the refresh for every organization; how many were queued."""
    return scheduling.enqueue_for_each(daily)
