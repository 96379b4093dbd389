"""Who a campaign reaches, decided for the whole segment at once with the gate's own rules.

The per-message gate reads one customer's facts; here the same facts are read for every
customer of a segment in a handful of set queries (latest consent entries, suppressions,
pauses, marketing sent in the window), then :func:`cueillette.messaging.rules.decide` judges
each one. The campaign page's counts and the send can therefore never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from cueillette.core.tenancy import current_org
from cueillette.customers.models import ConsentEvent, Customer, CustomerStatus
from cueillette.messaging import gate, rules
from cueillette.messaging.models import (
    Campaign,
    Delivery,
    MessageClass,
    Preference,
    Reason,
    Status,
    Suppression,
)


def segment_queryset(filters: Mapping[str, Any]) -> QuerySet[Customer]:
    """Active customers matching a segment's filters (every filter narrows)."""
    from cueillette.loyalty.models import Card, CardStatus

    qs = Customer.objects.filter(status=CustomerStatus.ACTIVE)
    tags = [t for t in filters.get("tags") or [] if t]
    if tags:
        q = Q()
        for tag in tags:
            # JSON arrays: containment on PostgreSQL; SQLite has none, its JSON text is matched.
            q |= (
                Q(tags__contains=[tag])
                if connection.vendor == "postgresql"
                else Q(tags__icontains=f'"{tag}"')
            )
        qs = qs.filter(q)
    cards = Card.objects.filter(customer=OuterRef("pk"), status=CardStatus.OPEN)
    tiers = [t for t in filters.get("tiers") or [] if t]
    if tiers:
        qs = qs.filter(Exists(cards.filter(tier_code__in=tiers)))
    if filters.get("min_points") not in (None, ""):
        qs = qs.filter(Exists(cards.filter(balance__gte=int(filters["min_points"]))))
    if filters.get("max_points") not in (None, ""):
        qs = qs.filter(Exists(cards.filter(balance__lte=int(filters["max_points"]))))
    now = timezone.now()
    if filters.get("visited_within_days") not in (None, ""):
        since = now - dt.timedelta(days=int(filters["visited_within_days"]))
        qs = qs.filter(last_activity_at__gte=since)
    if filters.get("not_visited_for_days") not in (None, ""):
        before = now - dt.timedelta(days=int(filters["not_visited_for_days"]))
        qs = qs.filter(Q(last_activity_at__lt=before) | Q(last_activity_at__isnull=True))
    prefix = (filters.get("postal_prefix") or "").strip()
    if prefix:
        qs = qs.filter(postal_code__startswith=prefix)
    language = filters.get("language") or ""
    if language in ("fr", "en"):
        qs = qs.filter(language=language)
    rfm = [r for r in filters.get("rfm") or [] if r]
    if rfm:
        # The insight segments of the latest nightly run (champions, at risk, lost...).
        from cueillette.insights.models import CustomerScore

        qs = qs.filter(
            Exists(CustomerScore.objects.filter(customer=OuterRef("pk"), segment__in=rfm))
        )
    return qs


@dataclass
class Audience:
    """The decision for a whole segment: who goes, who is moved, who is excluded and why."""

    total: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    recipients: list[int] = field(default_factory=list)  # customer ids that go (or are moved)

    @property
    def sending(self) -> int:
        return self.reasons[Reason.ALLOWED] + self.reasons[Reason.QUIET_HOURS]

    @property
    def excluded(self) -> dict[str, int]:
        return {
            r: n
            for r, n in self.reasons.items()
            if r not in (Reason.ALLOWED, Reason.QUIET_HOURS) and n
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "sending": self.sending,
            "after_quiet_hours": self.reasons[Reason.QUIET_HOURS],
            "excluded": self.excluded,
        }


def decide_audience(
    campaign: Campaign,
    *,
    now: dt.datetime | None = None,
    keep_recipients: bool = False,
    filters: Mapping[str, Any] | None = None,
) -> Audience:
    """Judge every customer of the campaign's segment as the gate would at ``now``."""
    now = now or timezone.now()
    org = current_org()
    settings_row = gate.pressure()
    quiet = rules.Quiet(settings_row.quiet_start, settings_row.quiet_end, org.timezone)
    seg_filters = (
        filters if filters is not None else (campaign.segment.filters if campaign.segment else {})
    )
    purposes = (campaign.purpose,)
    also = tuple(p for p in [seg_filters.get("consent") or ""] if p and p != campaign.purpose)
    channel = campaign.channel
    rows = list(
        segment_queryset(seg_filters)
        .order_by("pk")
        .values_list("pk", "email" if channel == "email" else "phone")
    )
    audience = Audience(total=len(rows))
    suppressed = dict(Suppression.objects.filter(channel=channel).values_list("address", "reason"))
    since = now - dt.timedelta(days=settings_row.window_days)
    wanted = (*purposes, *also)
    members = segment_queryset(seg_filters).values("pk")
    # The entry in force per customer and purpose at ``now``: the latest by then (one row each).
    latest = (
        ConsentEvent.objects.filter(
            customer_id__in=members, purpose__in=wanted, occurred_at__lte=now
        )
        .annotate(
            rn=Window(
                RowNumber(),
                partition_by=[F("customer_id"), F("purpose")],
                order_by=[F("occurred_at").desc(), F("id").desc()],
            )
        )
        .filter(rn=1)
        .values_list("customer_id", "pk", "purpose", "granted", "occurred_at", "source")
    )
    entries: dict[int, list[rules.Entry]] = {}
    for cid, pk, p, g, t, s in latest:
        entries.setdefault(cid, []).append(rules.Entry(pk, p, g, t, s))
    prefs = {
        cid: (fewer, until)
        for cid, fewer, until in Preference.objects.values_list(
            "customer_id", "fewer", "paused_until"
        )
    }
    marketing = Delivery.objects.filter(
        customer_id__in=members, klass=MessageClass.MARKETING
    ).filter(
        Q(status__in=gate.OUT, sent_at__gt=since) | Q(status__in=(Status.QUEUED, Status.DEFERRED))
    )
    if campaign.pk:
        marketing = marketing.exclude(campaign=campaign)
    recent = dict(
        marketing.order_by()
        .values("customer_id")
        .annotate(n=Count("id"))
        .values_list("customer_id", "n")
    )
    # Quiet hours are the same for everyone at one ``now``: computed once.
    quiet_until = rules.next_allowed(now, quiet)
    no_entries: list[rules.Entry] = []
    holdout = campaign.holdout_percent if campaign.pk else 0
    keep = keep_recipients
    for pk, address in rows:
        fewer, until = prefs.get(pk, (False, None))
        decision = rules.decide(
            rules.Facts(
                klass=MessageClass.MARKETING,
                channel=channel,
                now=now,
                has_address=bool(address),
                suppression=suppressed.get(address.lower()) if address else None,
                paused_until=until,
                consent=rules.consent_for(
                    entries.get(pk, no_entries), purposes, channel, now, also=also
                ),
                marketing_in_window=recent.get(pk, 0),
                cap=rules.cap_for(settings_row.max_marketing, fewer),
                quiet_until=quiet_until,
                held_back=bool(holdout) and rules.held_back(campaign.pk, pk, holdout),
            )
        )
        audience.reasons[decision.reason] += 1
        if keep and decision.goes_out:
            audience.recipients.append(pk)
    return audience
