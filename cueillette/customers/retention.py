"""Retention: customers inactive longer than the organization's period are anonymised.

The rule, once a day per organization (``run_scheduler`` enqueues :func:`anonymise_inactive`):

* **inactive since** = the customer's ``last_activity_at`` (a visit, a purchase, opening their
  space), or their creation date if nothing happened since;
* **warning**, :data:`NOTICE_DAYS` days before the end of the period: an email saying when their
  data will be erased and how to keep it (open their space, or come by). It is sent only where
  consent allows: the customer has an email address **and** their latest decision for at least
  one purpose that speaks by email (news by email, community notifications, feedback requests)
  is a grant. ``retention_warned_at`` records it;
* **erasure** (:func:`cueillette.customers.services.erase_customer`, reason ``"retention"``) once
  the period is over, if the warning went out at least :data:`NOTICE_DAYS` days ago, or at once
  if there is no way to warn them (no email, or no email consent);
* a warning counts only for the inactivity it was about: any activity after it (the customer
  opened their space, bought something) resets the clock, and a new warning is needed.

Every function takes ``now=`` so tests (and a catch-up run) can travel in time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from cueillette.core import audit
from cueillette.core.audit import Actor
from cueillette.core.mail import send_templated
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.customers import services
from cueillette.customers.models import Customer, CustomerStatus, Purpose
from cueillette.customers.services import erase_customer

NOTICE_DAYS = 30
# A grant for any of these purposes lets us send the warning (they all speak by email).
WARNING_PURPOSES = (Purpose.NEWS_EMAIL, Purpose.COMMUNITY, Purpose.FEEDBACK)
ACTOR_LABEL = "retention"


@dataclass
class RetentionReport:
    warned: int = 0
    erased: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"warned": self.warned, "erased": self.erased}


def inactive_since(customer: Customer) -> dt.datetime:
    return customer.last_activity_at or customer.created_at


def may_warn_by_email(customer: Customer) -> bool:
    """The warning goes only to an address the customer agreed to receive email at."""
    return bool(customer.email) and any(services.has_consent(customer, p) for p in WARNING_PURPOSES)


def is_warned(customer: Customer) -> bool:
    """A warning sent after the customer's last activity (an older one no longer counts)."""
    warned = customer.retention_warned_at
    return warned is not None and warned >= inactive_since(customer)


def inactive_before(before: dt.datetime) -> QuerySet[Customer]:
    """Active customers of the current organization with no activity since ``before``."""
    return Customer.objects.filter(status=CustomerStatus.ACTIVE).filter(
        Q(last_activity_at__lt=before) | Q(last_activity_at__isnull=True, created_at__lt=before)
    )


@transaction.atomic
def _warn(org: Organization, customer: Customer, now: dt.datetime, erase_on: dt.date) -> None:
    url = settings.SITE_URL + reverse("public:portal_request", kwargs={"slug": org.slug})
    send_templated(
        "public/email/retention_warning",
        customer.email,
        {"organization": org, "customer": customer, "url": url, "erase_on": erase_on},
        language=customer.language,
        kind="retention_warning",
        klass="service",
        customer=customer,
        purposes=WARNING_PURPOSES,
    )
    # update(): a warning is not a change of the record (updated_at stays).
    Customer.objects.filter(pk=customer.pk).update(retention_warned_at=now)
    audit.record(
        Actor.system(ACTOR_LABEL), "customer.retention_warned", customer, erase_on=str(erase_on)
    )


def run_retention(org: Organization, *, now: dt.datetime | None = None) -> RetentionReport:
    """One pass for one organization: erase who is due, then warn who will be."""
    now = now or timezone.now()
    report = RetentionReport()
    period = dt.timedelta(days=org.retention_days)
    notice = dt.timedelta(days=min(NOTICE_DAYS, org.retention_days))
    actor = Actor.system(ACTOR_LABEL)
    with tenant_context(org):
        for pk in list(inactive_before(now - period).values_list("pk", flat=True)):
            customer = Customer.objects.get(pk=pk)
            warned_long_ago = (
                is_warned(customer)
                and customer.retention_warned_at is not None
                and customer.retention_warned_at <= now - notice
            )
            if warned_long_ago or not may_warn_by_email(customer):
                erase_customer(customer, actor=actor, reason="retention", now=now)
                report.erased += 1
        for pk in list(inactive_before(now - (period - notice)).values_list("pk", flat=True)):
            customer = Customer.objects.get(pk=pk)
            if is_warned(customer) or not may_warn_by_email(customer):
                continue
            erase_on = (now + notice).astimezone(org.tz).date()
            _warn(org, customer, now, erase_on)
            report.warned += 1
    return report


@task()
def anonymise_inactive(org_id: int) -> dict[str, int]:
    """The daily retention pass of one organization (enqueued by ``run_scheduler``)."""
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return RetentionReport().as_dict()
    return run_retention(org).as_dict()


def run_all(*, now: dt.datetime | None = None) -> dict[str, dict[str, int]]:
    """One pass over every organization, inline (the ``run_retention`` command)."""
    # Organizations are not tenant rows: listing them all is the scheduler's job.
    return {org.slug: run_retention(org, now=now).as_dict() for org in Organization.objects.all()}


def enqueue_all() -> int:
    """Queue the retention task for every organization; returns how many were queued."""
    count = 0
    for org_id in Organization.objects.values_list("pk", flat=True):
        anonymise_inactive.enqueue(org_id)
        count += 1
    return count
