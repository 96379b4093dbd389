"""Periodic community work, one organization at a time (``run_scheduler`` queues it daily).

* :func:`send_weekly_digest`: the owner(s) get the week's figures by email, once a week:
  the scheduler runs daily, and an organization is sent a digest only when the last one is at
  least :data:`DIGEST_INTERVAL` old (``CommunitySettings.digest_last_sent_at``) and the digest is
  enabled (``CommunitySettings.digest_enabled``);
* :func:`reanalyse_posts`: analyse every post again with the organization's theme list (queued
  by the settings page when there are many posts).

Every function takes ``now=`` (ISO text for the tasks, so a run can be replayed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from cueillette.accounts.models import Membership, Role, User
from cueillette.community import dashboard, notify, services
from cueillette.community.models import CommunitySettings
from cueillette.core import audit, scheduling
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context

ACTOR_LABEL = "community"
# A little under a week, so that a daily scheduler running a few minutes early still sends.
DIGEST_INTERVAL = dt.timedelta(days=7) - dt.timedelta(hours=1)


def digest_due(current: CommunitySettings, now: dt.datetime) -> bool:
    if not current.digest_enabled:
        return False
    last = current.digest_last_sent_at
    return last is None or now - last >= DIGEST_INTERVAL


def owners() -> list[User]:
    return [
        m.user
        for m in Membership.objects.filter(role=Role.OWNER).select_related("user").order_by("id")
        if m.user.is_active and m.user.email
    ]


def digest(org: Organization, now: dt.datetime | None = None) -> int:
    """Send the weekly digest of one organization if due; returns how many emails went out."""
    now = now or timezone.now()
    with tenant_context(org), transaction.atomic():
        current = services.get_settings()
        current = CommunitySettings.objects.select_for_update().get(pk=current.pk)
        if not digest_due(current, now):
            return 0
        recipients = owners()
        sent = notify.send_digest(org, recipients, dashboard.digest(now))
        # Recorded even with no recipient: the next try is next week, not tomorrow.
        current.digest_last_sent_at = now
        current.save(update_fields=["digest_last_sent_at"])
        audit.record(Actor.system(ACTOR_LABEL), "community.digest_sent", current, recipients=sent)
        return sent


@task()
def send_weekly_digest(org_id: int, now: str | None = None) -> int:
    """The weekly digest of one organization, if due (queued daily by ``run_scheduler``)."""
    org = scheduling.organization(org_id)
    return digest(org, scheduling.parse_now(now)) if org else 0


def reanalyse(org: Organization) -> int:
    with tenant_context(org):
        done, _last = services.reanalyse_posts()
        return done


@task()
def reanalyse_posts(org_id: int) -> int:
    """Analyse every post of one organization again with its current theme list."""
    org = scheduling.organization(org_id)
    return reanalyse(org) if org else 0


def run_all(now: dt.datetime | None = None) -> dict[str, Any]:
    """Every organization, inline (``run_scheduler --inline``)."""
    return scheduling.run_for_each(digest, now)


def enqueue_all() -> int:
    """Queue the pass for every organization (``run_scheduler``); how many were queued."""
    return scheduling.enqueue_for_each(send_weekly_digest)
