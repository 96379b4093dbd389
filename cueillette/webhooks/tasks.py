"""Delivering webhooks in the background: right after the action (``deliver``) and, as a net
for crashes and retries, every due delivery at each scheduler wake-up (``deliver_due``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from cueillette.core import scheduling
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.webhooks import delivery
from cueillette.webhooks.models import Delivery, DeliveryStatus


@task()
def deliver(ids: list[int], org_id: int) -> int:
    org = Organization.objects.get(pk=org_id)
    done = 0
    with tenant_context(org):
        for pk in ids:
            d = delivery.attempt(pk)
            done += int(d is not None and d.status == DeliveryStatus.DELIVERED)
    return done


def run_due(org: Organization, now: dt.datetime | None = None) -> dict[str, int]:
    """Every due delivery of one organization, oldest first."""
    now = now or timezone.now()
    sent = 0
    with tenant_context(org):
        due = list(
            Delivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING])
            .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True))
            .order_by("created_at", "id")
            .values_list("pk", flat=True)[:1000]
        )
        for pk in due:
            d = delivery.attempt(pk)
            sent += int(d is not None and d.status == DeliveryStatus.DELIVERED)
    return {"due": len(due), "delivered": sent}


@task()
def deliver_due(org_id: int | None = None) -> dict[str, Any]:
    if org_id is not None:
        org = scheduling.organization(org_id)
        return run_due(org) if org is not None else {}
    return run_all()


def run_all(now: dt.datetime | None = None) -> dict[str, Any]:
    return scheduling.run_for_each(run_due, now)


def enqueue_all() -> int:
    return scheduling.enqueue_for_each(deliver_due)
