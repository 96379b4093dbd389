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
    BigIntegerField,
    Case,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, Mod
from django.utils import timezone

from cueillette.core.tenancy import current_org
from cueillette.customers.models import ConsentEvent, Customer, CustomerStatus
from cueillette.messaging import gate, rules
from cueillette.messaging.models import (
    Campaign,
    Channel,
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
    """Judge every customer of the campaign's segment as the gate would at ``now``.

    The decision is one query: the facts ``rules.decide`` reads (address, suppression, consent
    entry in force per purpose, pause, "fewer", marketing in the window, hold-out) become
    correlated subqueries, and :func:`reason_expression` is ``rules.decide``'s order of checks
    written as one ``CASE``. The database counts per reason (or lists who goes), so a million
    customers are judged without a million Python objects. ``tests/test_audience_property``
    proves, over random histories, that this gives each customer exactly the reason the
    per-message gate gives them."""
    now = now or timezone.now()
    seg_filters = (
        filters if filters is not None else (campaign.segment.filters if campaign.segment else {})
    )
    judged: Any = judged_queryset(campaign, seg_filters, now=now)  # annotated: _reason
    audience = Audience()
    if keep_recipients:
        goes = (Reason.ALLOWED, Reason.QUIET_HOURS)
        for pk, reason in (
            judged.order_by("pk").values_list("pk", "_reason").iterator(chunk_size=5000)
        ):
            audience.reasons[reason] += 1
            if reason in goes:
                audience.recipients.append(pk)
    else:
        for reason, n in judged.order_by().values_list("_reason").annotate(n=Count("pk")):
            audience.reasons[reason] += n
    audience.total = sum(audience.reasons.values())
    return audience


def _latest_code(purpose: str, now: dt.datetime) -> Coalesce:
    """The consent entry in force for ``purpose`` at ``now`` (the latest by then, ties by id),
    as a code: 1 granted, 2 withdrawn from the unsubscribe link, 3 withdrawn otherwise, 0 when
    the customer has none (never NULL: SQL's three-valued logic would skip a ``NOT``)."""
    return Coalesce(
        Subquery(
            ConsentEvent.objects.filter(
                customer=OuterRef("pk"), purpose=purpose, occurred_at__lte=now
            )
            .order_by("-occurred_at", "-id")
            .annotate(
                code=Case(
                    When(granted=True, then=Value(1)),
                    When(source=rules.UNSUBSCRIBE_SOURCE, then=Value(2)),
                    default=Value(3),
                    output_field=IntegerField(),
                )
            )
            .values("code")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def judged_queryset(
    campaign: Campaign, seg_filters: Mapping[str, Any], *, now: dt.datetime
) -> QuerySet[Customer]:
    """The segment's customers, each annotated with ``_reason``: the gate's decision at ``now``
    for a marketing message of this campaign."""
    org = current_org()
    settings_row = gate.pressure()
    quiet = rules.Quiet(settings_row.quiet_start, settings_row.quiet_end, org.timezone)
    channel = campaign.channel
    purposes = tuple(
        p for p in (campaign.purpose,) if channel in rules.PURPOSE_CHANNELS.get(p, frozenset())
    )
    also = tuple(p for p in [seg_filters.get("consent") or ""] if p and p != campaign.purpose)
    field_name = "email" if channel == Channel.EMAIL else "phone"
    since = now - dt.timedelta(days=settings_row.window_days)
    address: Any = Lower(OuterRef(field_name)) if channel == Channel.EMAIL else OuterRef(field_name)
    marketing = Delivery.objects.filter(
        customer=OuterRef("pk"), klass=MessageClass.MARKETING
    ).filter(
        Q(status__in=gate.OUT, sent_at__gt=since) | Q(status__in=(Status.QUEUED, Status.DEFERRED))
    )
    if campaign.pk:
        marketing = marketing.exclude(campaign=campaign)
    pref = Preference.objects.filter(customer=OuterRef("pk"))
    annotations: dict[str, Any] = {
        "_supp": Subquery(
            Suppression.objects.filter(channel=channel, address=address).values("reason")[:1]
        ),
        "_paused": Subquery(pref.values("paused_until")[:1]),
        "_fewer": Coalesce(Subquery(pref.values("fewer")[:1]), Value(False)),
        "_recent": Coalesce(
            Subquery(
                marketing.order_by().values("customer_id").annotate(n=Count("id")).values("n")[:1],
                output_field=IntegerField(),
            ),
            Value(0),
        ),
    }
    for i, p in enumerate(purposes):
        annotations[f"_p{i}"] = _latest_code(p, now)
    for i, p in enumerate(also):
        annotations[f"_a{i}"] = _latest_code(p, now)
    holdout = campaign.holdout_percent if campaign.pk else 0
    if holdout:
        # rules.held_back, in SQL: the same stable share of customer ids.
        annotations["_share"] = Mod(
            ExpressionWrapper(
                Value(campaign.pk * 2_654_435_761) + F("pk") * Value(40_503),
                output_field=BigIntegerField(),
            ),
            Value(100),
        )
    quiet_until = rules.next_allowed(now, quiet)
    qs = segment_queryset(seg_filters).annotate(**annotations)
    return qs.annotate(
        _reason=reason_expression(
            field_name=field_name,
            purposes=len(purposes),
            also=len(also),
            now=now,
            cap=settings_row.max_marketing,
            holdout=(campaign.pk, holdout) if holdout else None,
            quiet=quiet_until is not None,
        )
    )


def reason_expression(
    *,
    field_name: str,
    purposes: int,
    also: int,
    now: dt.datetime,
    cap: int,
    holdout: tuple[int, int] | None,
    quiet: bool,
) -> Case:
    """``rules.decide`` for a marketing message, check by check in the same order, over the
    annotations of :func:`judged_queryset`."""
    granted = Q(_p0=1) if purposes else Q(pk__isnull=True)  # no purpose opens it: never
    unsubscribed = Q(_p0=2) if purposes else Q(pk__isnull=True)
    for i in range(1, purposes):
        granted |= Q(**{f"_p{i}": 1})
        unsubscribed |= Q(**{f"_p{i}": 2})
    also_missing = Q(pk__isnull=True)
    for i in range(also):
        also_missing |= ~Q(**{f"_a{i}": 1})
    capped = Q(_fewer=True, _recent__gte=rules.cap_for(cap, True)) | Q(
        _fewer=False, _recent__gte=rules.cap_for(cap, False)
    )
    no_address = Q(**{field_name: ""}) | Q(**{f"{field_name}__isnull": True})
    whens = [
        When(no_address, then=Value(Reason.NO_ADDRESS)),
        When(_supp="unsubscribe", then=Value(Reason.UNSUBSCRIBED)),
        When(_supp__in=("hard_bounce", "complaint"), then=Value(Reason.BOUNCED)),
        When(_supp__isnull=False, then=Value(Reason.SUPPRESSED)),
        When(~granted & unsubscribed, then=Value(Reason.UNSUBSCRIBED)),
        When(~granted, then=Value(Reason.NO_CONSENT)),
    ]
    if also:
        whens.append(When(also_missing, then=Value(Reason.NO_CONSENT)))
    whens += [
        When(_paused__gt=now, then=Value(Reason.PAUSED)),
        When(capped, then=Value(Reason.CAPPED)),
    ]
    if holdout is not None:
        whens.append(When(_share__lt=holdout[1], then=Value(Reason.HELD_BACK)))
    return Case(
        *whens,
        default=Value(Reason.QUIET_HOURS if quiet else Reason.ALLOWED),
        output_field=CharField(),
    )
