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
from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone

from cueillette.core.tenancy import current_org
from cueillette.customers.models import Customer, CustomerStatus
from cueillette.messaging import gate, rules
from cueillette.messaging.models import (
    Campaign,
    Channel,
    MessageClass,
    Reason,
    Status,
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
    """Judge every customer of the campaign's segment as the gate would at ``now``.

    The decision is one SQL statement (:func:`judged_sql`): the facts ``rules.decide`` reads
    (address, suppression, the consent entry in force per purpose, pause, "fewer", marketing in
    the window, hold-out) joined to the segment, and ``rules.decide``'s order of checks written
    as one ``CASE``. The database counts per reason (or lists who goes), so a million customers
    are judged without a million Python objects. ``test_audience_property`` proves, over random
    histories, that this gives each customer exactly the reason the per-message gate gives."""
    now = now or timezone.now()
    seg_filters = (
        filters if filters is not None else (campaign.segment.filters if campaign.segment else {})
    )
    sql, params = judged_sql(campaign, seg_filters, now=now)
    audience = Audience()
    with connection.cursor() as cur:
        if keep_recipients:
            goes = (Reason.ALLOWED, Reason.QUIET_HOURS)
            cur.execute(f"SELECT id, reason FROM ({sql}) j ORDER BY id", params)
            while chunk := cur.fetchmany(5000):
                for pk, reason in chunk:
                    audience.reasons[reason] += 1
                    if reason in goes:
                        audience.recipients.append(pk)
        else:
            cur.execute(f"SELECT reason, count(*) FROM ({sql}) j GROUP BY reason", params)
            for reason, n in cur.fetchall():
                audience.reasons[reason] += n
    audience.total = sum(audience.reasons.values())
    return audience


def judged(
    campaign: Campaign, seg_filters: Mapping[str, Any], *, now: dt.datetime
) -> dict[int, str]:
    """Each customer of the segment and the gate's reason for them at ``now``."""
    sql, params = judged_sql(campaign, seg_filters, now=now)
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return {int(pk): str(reason) for pk, reason in cur.fetchall()}


def judged_sql(
    campaign: Campaign, seg_filters: Mapping[str, Any], *, now: dt.datetime
) -> tuple[str, list[Any]]:
    """One statement giving ``(id, reason)`` for each customer of the segment: the gate's
    decision at ``now`` for a marketing message of this campaign.

    The segment is the tenant-scoped queryset of :func:`segment_queryset`, compiled; every other
    table is read for the current organization only (``organization_id`` in each join), as the
    tenant managers would. The latest consent entry per customer and purpose is ``DISTINCT ON``
    on PostgreSQL and ``ROW_NUMBER()`` elsewhere (same ordering: time, then id)."""
    org = current_org()
    settings_row = gate.pressure()
    quiet = rules.Quiet(settings_row.quiet_start, settings_row.quiet_end, org.timezone)
    channel = campaign.channel
    purposes = [
        p for p in (campaign.purpose,) if channel in rules.PURPOSE_CHANNELS.get(p, frozenset())
    ]
    also = [p for p in [seg_filters.get("consent") or ""] if p and p != campaign.purpose]
    field_name = "email" if channel == Channel.EMAIL else "phone"
    ops = connection.ops
    at = ops.adapt_datetimefield_value(now)
    since = ops.adapt_datetimefield_value(now - dt.timedelta(days=settings_row.window_days))
    seg_sql, seg_params = (
        segment_queryset(seg_filters)
        .order_by()
        .values_list("pk", field_name)
        .query.sql_with_params()
    )
    params: list[Any] = [*seg_params]
    wanted = [*purposes, *also]
    marks = ", ".join(["%s"] * len(wanted)) or "NULL"
    code = f"CASE WHEN granted THEN 1 WHEN source = '{rules.UNSUBSCRIBE_SOURCE}' THEN 2 ELSE 3 END"
    if connection.vendor == "postgresql":
        latest = (
            f"SELECT DISTINCT ON (customer_id, purpose) customer_id, purpose, {code} AS code "
            "FROM customers_consentevent WHERE organization_id = %s "
            f"AND purpose IN ({marks}) AND occurred_at <= %s "
            "ORDER BY customer_id, purpose, occurred_at DESC, id DESC"
        )
    else:
        latest = (
            "SELECT customer_id, purpose, code FROM (SELECT customer_id, purpose, "
            f"{code} AS code, ROW_NUMBER() OVER (PARTITION BY customer_id, purpose "
            "ORDER BY occurred_at DESC, id DESC) AS rn FROM customers_consentevent "
            f"WHERE organization_id = %s AND purpose IN ({marks}) AND occurred_at <= %s) t "
            "WHERE rn = 1"
        )
    params += [org.pk, *wanted, at]
    not_this = ""
    recent_params: list[Any] = [org.pk, since]
    if campaign.pk:
        not_this = "AND (campaign_id IS NULL OR campaign_id <> %s) "
        recent_params.append(campaign.pk)
    recent = (
        "SELECT customer_id, count(*) AS n FROM messaging_delivery "
        f"WHERE organization_id = %s AND klass = '{MessageClass.MARKETING.value}' "
        f"AND ((status IN ('{Status.SENDING.value}', '{Status.SENT.value}') AND sent_at > %s) "
        f"OR status IN ('{Status.QUEUED.value}', '{Status.DEFERRED.value}')) {not_this}"
        "GROUP BY customer_id"
    )
    params += recent_params
    joins = []
    join_params: list[Any] = []  # after the CASE's own: the SELECT list comes before FROM
    for i, p in enumerate(wanted):
        joins.append(f"LEFT JOIN latest l{i} ON l{i}.customer_id = c.id AND l{i}.purpose = %s")
        join_params.append(p)
    address = "lower(c.addr)" if channel == Channel.EMAIL else "c.addr"
    joins.append(
        "LEFT JOIN messaging_suppression s ON s.organization_id = %s AND s.channel = %s "
        f"AND s.address = {address}"
    )
    joins.append(
        "LEFT JOIN messaging_preference p ON p.organization_id = %s AND p.customer_id = c.id"
    )
    joins.append("LEFT JOIN recent r ON r.customer_id = c.id")
    join_params += [org.pk, channel, org.pk]
    granted = " OR ".join(f"coalesce(l{i}.code, 0) = 1" for i in range(len(purposes))) or "FALSE"
    unsub = " OR ".join(f"coalesce(l{i}.code, 0) = 2" for i in range(len(purposes))) or "FALSE"
    whens = [
        ("c.addr IS NULL OR c.addr = ''", Reason.NO_ADDRESS),
        ("s.reason = 'unsubscribe'", Reason.UNSUBSCRIBED),
        ("s.reason IN ('hard_bounce', 'complaint')", Reason.BOUNCED),
        ("s.reason IS NOT NULL", Reason.SUPPRESSED),
        (f"NOT ({granted}) AND ({unsub})", Reason.UNSUBSCRIBED),
        (f"NOT ({granted})", Reason.NO_CONSENT),
    ]
    when_params: list[Any] = []
    for j in range(len(purposes), len(wanted)):
        whens.append((f"coalesce(l{j}.code, 0) <> 1", Reason.NO_CONSENT))
    whens.append(("p.paused_until > %s", Reason.PAUSED))
    when_params.append(at)
    whens.append(
        (
            "coalesce(r.n, 0) >= CASE WHEN coalesce(p.fewer, FALSE) THEN %s ELSE %s END",
            Reason.CAPPED,
        )
    )
    when_params += [rules.cap_for(settings_row.max_marketing, True), settings_row.max_marketing]
    holdout = campaign.holdout_percent if campaign.pk else 0
    if holdout:
        # rules.held_back, in SQL: the same stable share of customer ids.
        whens.append(("(%s + c.id * 40503) %% 100 < %s", Reason.HELD_BACK))
        when_params += [campaign.pk * 2_654_435_761, holdout]
    default = Reason.QUIET_HOURS if rules.next_allowed(now, quiet) is not None else Reason.ALLOWED
    case = " ".join(f"WHEN {cond} THEN '{reason.value}'" for cond, reason in whens)
    sql = (
        f"WITH c(id, addr) AS ({seg_sql}), latest AS ({latest}), recent AS ({recent}) "
        f"SELECT c.id AS id, CASE {case} ELSE '{default.value}' END AS reason "
        f"FROM c {' '.join(joins)}"
    )
    return sql, [*params, *when_params, *join_params]
