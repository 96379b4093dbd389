"""Daily housekeeping of the core tables (joined to ``run_scheduler``'s daily pass).

* Idempotency records: a till retries a request within minutes or hours, never weeks later.
  A record older than :data:`IDEMPOTENCY_KEEP_DAYS` is purged, so the table stays small; a key
  reused after that is treated as a new request (loyalty writes stay single-applied anyway:
  their receipt id is unique in the ledger).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

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
    org = Organization.objects.filter(pk=org_id).first()
    return run_daily(org) if org is not None else {}


def run_all(now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    # Organizations are not tenant rows: listing them all is the scheduler's job.
    return {org.slug: run_daily(org, now) for org in Organization.objects.all()}


def enqueue_all() -> int:
    count = 0
    for org_id in Organization.objects.values_list("pk", flat=True):
        daily.enqueue(org_id)
        count += 1
    return count
