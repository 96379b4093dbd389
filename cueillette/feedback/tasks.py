"""Sending the NPS surveys, one organization at a time (``run_scheduler`` queues it).

:func:`send_surveys` runs :func:`cueillette.feedback.services.send_due` for one organization:
purchases and visits past the organization's delay, sampled, to customers who agreed to
feedback requests and were not asked within the minimum interval. Running it twice, even at
the same time, sends nothing twice (see the services module).

Every function takes ``now=`` (ISO text for the tasks, so a run can be replayed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tasks import task

from cueillette.core import scheduling
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.feedback import services


def run(org: Organization, now: dt.datetime | None = None) -> dict[str, int]:
    """Send the due surveys of one organization; returns what was sent and skipped."""
    with tenant_context(org):
        report = services.send_due(now or timezone.now())
    return {"sent": report.sent, "skipped": report.skipped}


@task()
def send_surveys(org_id: int, now: str | None = None) -> dict[str, int]:
    """The survey pass of one organization (queued by ``run_scheduler``)."""
    org = scheduling.organization(org_id)
    return run(org, scheduling.parse_now(now)) if org else {}


def run_all(now: dt.datetime | None = None) -> dict[str, Any]:
    """Every organization, inline (``run_scheduler --inline``)."""
    return scheduling.run_for_each(run, now)


def enqueue_all() -> int:
    """Queue the pass for every organization (``run_scheduler``); how many were queued."""
    return scheduling.enqueue_for_each(send_surveys)
