"""Sending the NPS surveys, one organization at a time (``run_scheduler`` queues it).

:func:`send_surveys` runs :func:`cueillette.feedback.services.send_due` for one organization:
purchases and visits past the organization's delay, sampled, to customers who agreed to
feedback requests and were not asked within the minimum interval. Running it twice, even at
the same time, sends nothing twice (see the services module).

Every function takes ``now=`` (ISO text for the tasks, so a run can be replayed).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.feedback import services


def _now(now: str | dt.datetime | None) -> dt.datetime:
    if now is None:
        return timezone.now()
    value = dt.datetime.fromisoformat(now) if isinstance(now, str) else now
    if timezone.is_naive(value):
        raise ValueError("now must be timezone-aware")
    return value


def run(org: Organization, now: dt.datetime | None = None) -> dict[str, int]:
    """Send the due surveys of one organization; returns what was sent and skipped."""
    with tenant_context(org):
        report = services.send_due(now or timezone.now())
    return {"sent": report.sent, "skipped": report.skipped}


@task()
def send_surveys(org_id: int, now: str | None = None) -> dict[str, int]:
    """The survey pass of one organization (queued by ``run_scheduler``)."""
    org = Organization.objects.filter(pk=org_id).first()
    return run(org, _now(now)) if org else {}


def run_all(now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """Every organization, inline (``run_scheduler --inline``)."""
    # Organizations are not tenant rows: listing them all is the scheduler's job.
    return {org.slug: run(org, now) for org in Organization.objects.all()}


def enqueue_all() -> int:
    """Queue the survey pass for every organization; returns how many were queued."""
    count = 0
    for org_id in Organization.objects.values_list("pk", flat=True):
        send_surveys.enqueue(org_id)
        count += 1
    return count
