"""Background work of the send gate (``run_scheduler``: hourly and daily passes).

* :func:`dispatch_campaign`: one decision per customer of the campaign's audience (the
  ``(campaign, customer)`` unique key makes a second run, a double click or a killed worker's
  rerun skip who is already decided: sending resumes where it stopped), then the hand-off in
  batches through ``delivery``.
* hourly (:func:`run_hourly`): scheduled campaigns that are due, messages moved out of quiet
  hours or waiting for a retry that are due, claims left by a killed worker.
* daily (:func:`run_daily`): birthdays, "we miss you", rewards reached by points.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape
from django_tasks import task

from cueillette.core import scheduling
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.customers.models import Customer, CustomerStatus
from cueillette.messaging import audience, automatic, delivery, gate, rules
from cueillette.messaging.models import Campaign, CampaignStatus, Delivery, MessageClass, Status

BATCH = 200


def dispatch(campaign: Campaign, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Decide and hand over every message of a sending campaign; safe to run again."""
    from cueillette.messaging.services import compose_campaign

    now = now or timezone.now()
    done = set(Delivery.objects.filter(campaign=campaign).values_list("customer_id", flat=True))
    todo = (
        audience.segment_queryset(campaign.segment.filters if campaign.segment else {})
        .exclude(pk__in=done)
        .order_by("pk")
    )
    rendered: dict[str, tuple[str, str, str]] = {}
    seg_filters = campaign.segment.filters if campaign.segment else {}
    also = tuple(p for p in [seg_filters.get("consent")] if p and p != campaign.purpose)
    created = 0
    batch: list[gate.Message] = []

    def decide(batch: list[gate.Message]) -> int:
        rows = gate.request_campaign_batch(batch, now=now)
        later: dict[dt.datetime, list[int]] = {}
        for d in rows:
            if d.status == Status.DEFERRED and d.send_after is not None:
                later.setdefault(d.send_after, []).append(d.pk)
        # Handed over batch by batch: sending starts while the rest is being decided.
        delivery.deliver_on_commit([d.pk for d in rows if d.status == Status.QUEUED])
        for when, ids in later.items():
            delivery.deliver_on_commit(ids, run_after=when)
        return len(rows)

    for customer in todo.iterator(chunk_size=BATCH):
        lang = customer.language if customer.language in ("fr", "en") else "fr"
        if lang not in rendered:
            rendered[lang] = compose_campaign(
                campaign, lang, unsubscribe_url=gate.UNSUBSCRIBE_PLACEHOLDER
            )
        subject, text, html = rendered[lang]
        # Rendered once per language; the first name is put in per customer (escaped in HTML).
        name = customer.first_name or ""
        batch.append(
            gate.Message(
                kind="campaign",
                klass=MessageClass.MARKETING,
                subject=subject.replace("{first_name}", name),
                text=text.replace("{first_name}", name),
                html=html.replace("{first_name}", escape(name)),
                customer=customer,
                purposes=(campaign.purpose,),
                also=also,
                channel=campaign.channel,
                language=lang,
                campaign=campaign,
                held_back=rules.held_back(campaign.pk, customer.pk, campaign.holdout_percent),
            )
        )
        if len(batch) >= BATCH:
            created += decide(batch)
            batch = []
    if batch:
        created += decide(batch)
    Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
        status=CampaignStatus.SENT, finished_at=timezone.now()
    )
    return {"decided": created}


@task(queue_name="emails")
def dispatch_campaign(org_id: int, campaign_id: int) -> dict[str, int]:
    org = scheduling.organization(org_id)
    if org is None:
        return {}
    with tenant_context(org):
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None or campaign.status not in (CampaignStatus.SENDING, CampaignStatus.SENT):
            return {}
        return dispatch(campaign)


def start_due_campaigns(now: dt.datetime) -> int:
    """Scheduled campaigns whose time has come start sending (once: conditional update)."""
    started = 0
    for c in Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now):
        if Campaign.objects.filter(pk=c.pk, status=CampaignStatus.SCHEDULED).update(
            status=CampaignStatus.SENDING, started_at=now
        ):
            dispatch(c, now=now)
            started += 1
    # A campaign left "sending" by a killed worker resumes where it stopped.
    for c in Campaign.objects.filter(
        status=CampaignStatus.SENDING, started_at__lt=now - delivery.STALE_CLAIM
    ):
        dispatch(c, now=now)
    return started


def send_due(now: dt.datetime) -> dict[str, int]:
    """Deferred and retried messages that are due, and stale claims, go out now."""
    Delivery.objects.filter(
        status=Status.SENDING, claimed_at__lt=now - delivery.STALE_CLAIM
    ).update(status=Status.QUEUED)
    due = list(
        Delivery.objects.filter(status__in=(Status.QUEUED, Status.DEFERRED))
        .filter(Q(send_after__isnull=True) | Q(send_after__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)[:5000]
    )
    return delivery.deliver(due, now=now) if due else {"sent": 0}


def run_hourly(org: Organization, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    with tenant_context(org):
        started = start_due_campaigns(now)
        counts = send_due(now)
    return {"campaigns_started": started, **counts}


# --------------------------------------------------------------------------- daily scans


def birthdays(now: dt.datetime) -> int:
    """Today's birthdays in the organization's zone (29 February counts on 28 in other years)."""
    if not gate.switch_enabled("birthday"):
        return 0
    from cueillette.core.tenancy import current_org

    today = now.astimezone(current_org().tz).date()
    days = [today.day]
    if today.month == 2 and today.day == 28 and not _leap(today.year):
        days.append(29)
    sent = 0
    for c in Customer.objects.filter(
        status=CustomerStatus.ACTIVE, birthday__month=today.month, birthday__day__in=days
    ).exclude(email=""):
        automatic.send("birthday", c, dedupe_key=f"birthday:{c.pk}:{today.year}")
        sent += 1
    return sent


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def we_miss_you(now: dt.datetime) -> int:
    """Customers whose last visit was N weeks ago (within the four weeks after): once per spell."""
    if not gate.switch_enabled("we_miss_you"):
        return 0
    weeks = automatic.setting("we_miss_you").weeks
    newest = now - dt.timedelta(weeks=weeks)
    oldest = newest - dt.timedelta(weeks=4)
    sent = 0
    for c in Customer.objects.filter(
        status=CustomerStatus.ACTIVE, last_activity_at__lte=newest, last_activity_at__gt=oldest
    ).exclude(email=""):
        assert c.last_activity_at is not None
        spell = c.last_activity_at.date().isoformat()
        automatic.send("we_miss_you", c, dedupe_key=f"we_miss_you:{c.pk}:{spell}")
        sent += 1
    return sent


def rewards_reached(now: dt.datetime) -> int:
    """Open cards whose balance reaches an offered reward they were not told about yet."""
    if not gate.switch_enabled("reward_available"):
        return 0
    from cueillette.loyalty.models import Card, CardStatus, Reward

    rewards = list(Reward.objects.filter(active=True).order_by("cost"))
    if not rewards:
        return 0
    today = now.date()
    sent = 0
    cheapest = rewards[0].cost
    for card in Card.objects.filter(status=CardStatus.OPEN, balance__gte=cheapest).select_related(
        "customer"
    ):
        if not card.customer.email:
            continue
        for reward in rewards:
            if reward.cost > card.balance:
                break
            if (reward.valid_from and reward.valid_from > today) or (
                reward.valid_until and reward.valid_until < today
            ):
                continue
            d = automatic.notify_reward(card, reward, now=now)
            sent += d.status in (Status.QUEUED, Status.DEFERRED)
    return sent


def run_daily(org: Organization, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    with tenant_context(org):
        return {
            "birthdays": birthdays(now),
            "we_miss_you": we_miss_you(now),
            "rewards": rewards_reached(now),
        }


@task()
def hourly(org_id: int) -> dict[str, Any]:
    org = scheduling.organization(org_id)
    return run_hourly(org) if org is not None else {}


@task()
def daily(org_id: int) -> dict[str, int]:
    org = scheduling.organization(org_id)
    return run_daily(org) if org is not None else {}


def run_all(now: dt.datetime | None = None) -> dict[str, Any]:
    return scheduling.run_for_each(run_hourly, now)


def enqueue_all() -> int:
    return scheduling.enqueue_for_each(hourly)
