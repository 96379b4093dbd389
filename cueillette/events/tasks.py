"""The hourly pass of the events app (``run_scheduler``'s HOURLY_MODULES), per organization:
lapse the seat offers past their time (the seat passes on), send the reminders of tomorrow's
sessions, send the feedback requests after sessions. Each step is safe to run twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tasks import task

from cueillette.core import scheduling
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.events import services


def run(org: Organization, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    with tenant_context(org):
        return {
            "offers_lapsed": services.expire_offers(now),
            "reminders": services.send_reminders(now),
            "feedback_requests": services.send_feedback_requests(now),
        }


@task()
def hourly(org_id: int, now: str | None = None) -> dict[str, int]:
    org = scheduling.organization(org_id)
    return run(org, scheduling.parse_now(now)) if org else {}


def run_all(now: dt.datetime | None = None) -> dict[str, Any]:
    """Every organization, inline (``run_scheduler --inline``)."""
    return scheduling.run_for_each(run, now)


def enqueue_all() -> int:
    """Queue the pass for every organization (``run_scheduler``); how many were queued."""
    return scheduling.enqueue_for_each(hourly)
