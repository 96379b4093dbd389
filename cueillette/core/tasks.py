"""Daily housekeeping of the core tables (joined to ``run_scheduler``'s daily pass).

* Idempotency records: a till retries a request within minutes or hours, never weeks later.
  A record older than :data:`IDEMPOTENCY_KEEP_DAYS` is purged, so the table stays small; a key
  reused after that is treated as a new request (loyalty writes stay single-applied anyway:
  their receipt id is unique in the ledger).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tasks import task

from cueillette.core import scheduling
from cueillette.core.models import IdempotencyRecord, Organization
from cueillette.core.tenancy import tenant_context

IDEMPOTENCY_KEEP_DAYS = 30


def purge_idempotency(org: Organization, now: dt.datetime | None = None) -> int:
    """Delete this organization's idempotency records older than the keeping period."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=IDEMPOTENCY_KEEP_DAYS)
    with tenant_context(org):
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def run_daily(org: Organization, now: dt.datetime | None = None) -> dict[str, int]:
    return {"idempotency_purged": purge_idempotency(org, now)}


@task()
def daily(org_id: int) -> dict[str, int]:
    org = scheduling.organization(org_id)
    return run_daily(org) if org is not None else {}


def run_all(now: dt.datetime | None = None) -> dict[str, Any]:
    """Every organization, inline (``run_scheduler --inline``)."""
    return scheduling.run_for_each(run_daily, now)


def enqueue_all() -> int:
    """Queue the pass for every organization (``run_scheduler``); how many were queued."""
    return scheduling.enqueue_for_each(daily)
