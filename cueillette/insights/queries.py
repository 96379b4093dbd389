"""Reads shared by the insights pages, the API, the CLI and the tasks.

Purchases are read with their exact timestamps; a purchase counts for its net amount (minus
what was refunded); a fully refunded purchase and a counter *undo* are sales that did not
happen and are left out; a visit of 0 is a purchase without spend.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from cueillette.core.tenancy import current_org
from cueillette.customers.models import Customer, CustomerStatus, Purpose
from cueillette.customers.queries import latest_consent
from cueillette.insights import rfm
from cueillette.insights.models import (
    AttachmentSource,
    BusinessChange,
    CustomerScore,
    InsightsSettings,
    LeaveReason,
    ModelRun,
    ReasonAttachment,
    RunStatus,
)
from cueillette.insights.rfm import SEGMENT_GRID, Segment
from cueillette.loyalty.models import Purchase, Refund
from cueillette.loyalty.services import UNDO_REASON

ZERO = Decimal(0)


@dataclass(frozen=True)
class PurchaseArrays:
    customer: npt.NDArray[np.int64]
    at: npt.NDArray[np.float64]  # seconds since the epoch, exact
    amount: npt.NDArray[np.float64]  # net of refunds


def _undone_ids() -> set[int]:
    return set(
        Refund.objects.filter(reason=UNDO_REASON, source="counter").values_list(
            "purchase_id", flat=True
        )
    )


def purchase_rows(now: dt.datetime) -> list[tuple[int, dt.datetime, Decimal]]:
    """(customer id, occurred_at, net amount) of the organization's purchases up to ``now``.

    Merged records count under the record they were merged into.
    """
    undone = _undone_ids()
    merged = dict(
        Customer.objects.filter(
            status=CustomerStatus.MERGED, merged_into__isnull=False
        ).values_list("pk", "merged_into_id")
    )
    rows: list[tuple[int, dt.datetime, Decimal]] = []
    qs = Purchase.objects.filter(occurred_at__lte=now).values_list(
        "pk", "card__customer_id", "occurred_at", "amount", "refunded_amount"
    )
    for pk, customer_id, occurred_at, amount, refunded in qs.iterator(chunk_size=5000):
        if pk in undone:
            continue
        net = amount - refunded
        if amount > 0 and net <= 0:
            continue
        cid = merged.get(customer_id, customer_id)
        rows.append((cid, occurred_at, net))
    return rows


def purchase_arrays(now: dt.datetime) -> PurchaseArrays:
    rows = purchase_rows(now)
    if not rows:
        return PurchaseArrays(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    cust = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    at = np.fromiter((r[1].timestamp() for r in rows), dtype=np.float64, count=len(rows))
    amount = np.fromiter((float(r[2]) for r in rows), dtype=np.float64, count=len(rows))
    return PurchaseArrays(cust, at, amount)


def active_customer_ids(ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        found.update(
            Customer.objects.filter(pk__in=chunk, status=CustomerStatus.ACTIVE).values_list(
                "pk", flat=True
            )
        )
    return found


# --------------------------------------------------------------------------- runs


def settings_row() -> InsightsSettings | None:
    return InsightsSettings.objects.first()


def latest_run() -> ModelRun | None:
    return ModelRun.objects.order_by("-started_at", "-id").first()


def scores_run() -> ModelRun | None:
    """The run whose figures are shown (the latest that wrote scores)."""
    return ModelRun.objects.filter(wrote_scores=True).order_by("-started_at", "-id").first()


@dataclass(frozen=True)
class State:
    """What the pages say about freshness: the figures shown and the last attempt."""

    shown: ModelRun | None
    last: ModelRun | None

    @property
    def failed_since(self) -> ModelRun | None:
        """The last attempt, when it failed after the figures shown were computed."""
        if self.last is not None and self.last.status == RunStatus.FAILED:
            return self.last
        return None


def state() -> State:
    return State(scores_run(), latest_run())


# --------------------------------------------------------------------------- segments


@dataclass
class SegmentRow:
    segment: Segment
    customers: int = 0
    revenue: Decimal = ZERO
    monthly_value: Decimal = ZERO
    at_stake: Decimal = ZERO


def segment_summary() -> list[SegmentRow]:
    """Customers, revenue (total net spend) and monthly value per segment, in grid order."""
    by: dict[str, SegmentRow] = {s.value: SegmentRow(s) for s in Segment}
    qs = CustomerScore.objects.values("segment").annotate(
        n=Count("id"), revenue=Sum("total_spend"), monthly=Sum("monthly_value")
    )
    for row in qs:
        target = by.get(row["segment"])
        if target is None:
            continue
        target.customers = int(row["n"] or 0)
        target.revenue = row["revenue"] or ZERO
        target.monthly_value = row["monthly"] or ZERO
    return [by[s.value] for s in Segment]


def grid_counts() -> dict[tuple[int, int], int]:
    """Customers per (recency score, frequency-and-value score) cell."""
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for r, fm in CustomerScore.objects.values_list("recency_score", "fm_score"):
        counts[(int(r), int(fm))] += 1
    return dict(counts)


def grid() -> list[list[dict[str, Any]]]:
    """The 5 x 5 picture: rows from recency 5 (came lately) down to 1, columns FM 1..5."""
    counts = grid_counts()
    return [
        [
            {"r": r, "fm": fm, "segment": SEGMENT_GRID[r][fm - 1], "count": counts.get((r, fm), 0)}
            for fm in range(1, 6)
        ]
        for r in range(5, 0, -1)
    ]


def with_contact(qs: QuerySet[CustomerScore]) -> QuerySet[CustomerScore]:
    """Annotate the consents a page needs to offer contact: news by email or SMS."""
    return qs.annotate(
        news_email=Subquery(
            Customer.objects.filter(pk=OuterRef("customer_id"))
            .annotate(c=latest_consent(Purpose.NEWS_EMAIL))
            .values("c")[:1]
        ),
        news_sms=Subquery(
            Customer.objects.filter(pk=OuterRef("customer_id"))
            .annotate(c=latest_consent(Purpose.NEWS_SMS))
            .values("c")[:1]
        ),
    )


def segment_customers(segment: str) -> QuerySet[CustomerScore]:
    return (
        CustomerScore.objects.filter(segment=segment, customer__status=CustomerStatus.ACTIVE)
        .select_related("customer")
        .order_by("-monthly_value", "customer__last_name", "customer_id")
    )


def contactable_scores(qs: QuerySet[CustomerScore]) -> list[CustomerScore]:
    """Of these, the customers who agreed to hear from the business (news by email or SMS),
    with a way to reach them: the call list and the CSV offer only them."""
    rows = []
    for s in with_contact(qs):
        c = s.customer
        email_ok = bool(getattr(s, "news_email", False)) and bool(c.email)
        sms_ok = bool(getattr(s, "news_sms", False)) and bool(c.phone)
        if email_ok or sms_ok:
            s.contact_email = c.email if email_ok else ""  # type: ignore[attr-defined]
            s.contact_phone = c.phone if sms_ok else ""  # type: ignore[attr-defined]
            rows.append(s)
    return rows


def at_risk() -> QuerySet[CustomerScore]:
    """Repeat customers who have probably left or are slipping, by value at stake."""
    return (
        CustomerScore.objects.filter(
            customer__status=CustomerStatus.ACTIVE, value_at_stake__gt=0, p_alive__lt=0.7
        )
        .select_related("customer")
        .order_by("-value_at_stake", "customer_id")
    )


def lapsed_by_value() -> QuerySet[CustomerScore]:
    """Without a model (too little history): lapsed customers by what they used to spend."""
    return (
        CustomerScore.objects.filter(customer__status=CustomerStatus.ACTIVE, lapsed=True)
        .select_related("customer")
        .order_by("-monthly_value", "customer_id")
    )


def score_for(customer: Customer) -> CustomerScore | None:
    return CustomerScore.objects.filter(customer=customer).first()


# --------------------------------------------------------------------------- reasons


def latest_attachments(customer_ids: list[int] | None = None) -> dict[int, ReasonAttachment]:
    """Each customer's latest reason attachment (a "cleared" one means no reason)."""
    qs = ReasonAttachment.objects.select_related("reason", "change").order_by(
        "customer_id", "-created_at", "-id"
    )
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    latest: dict[int, ReasonAttachment] = {}
    for row in qs:
        latest.setdefault(row.customer_id, row)
    return {k: v for k, v in latest.items() if v.source != AttachmentSource.CLEARED}


def history_for(customer: Customer) -> list[ReasonAttachment]:
    return list(
        ReasonAttachment.objects.filter(customer=customer)
        .select_related("reason", "change", "actor_user")
        .order_by("-created_at", "-id")[:20]
    )


@dataclass
class LostGroup:
    key: str  # "change:<id>", "reason:<code>" or "none"
    label: str
    change: BusinessChange | None
    reason: LeaveReason | None
    customers: list[CustomerScore] = field(default_factory=list)
    monthly: Decimal = ZERO
    sources: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.customers)


def lost_revenue(language: str) -> list[LostGroup]:
    """Lapsed customers grouped by their latest reason (a change first, else the reason),
    with the monthly revenue they used to bring; the largest loss first, "no reason yet"
    last."""
    lapsed = list(
        CustomerScore.objects.filter(lapsed=True, customer__status=CustomerStatus.ACTIVE)
        .select_related("customer")
        .order_by("-monthly_value", "customer_id")
    )
    latest = latest_attachments([s.customer_id for s in lapsed])
    groups: dict[str, LostGroup] = {}
    for s in lapsed:
        att = latest.get(s.customer_id)
        if att is not None and att.change is not None:
            key, label = f"change:{att.change_id}", att.change.title
            group = groups.setdefault(key, LostGroup(key, label, att.change, att.change.reason))
        elif att is not None and att.reason is not None:
            key = f"reason:{att.reason.code}"
            group = groups.setdefault(
                key, LostGroup(key, att.reason.label(language), None, att.reason)
            )
        else:
            group = groups.setdefault("none", LostGroup("none", "", None, None))
        group.customers.append(s)
        group.monthly += s.monthly_value
        if att is not None:
            group.sources[att.source] = group.sources.get(att.source, 0) + 1
    ordered = sorted(
        (g for k, g in groups.items() if k != "none"), key=lambda g: (-g.monthly, g.label)
    )
    if "none" in groups:
        ordered.append(groups["none"])
    return ordered


# --------------------------------------------------------------------------- changes


def stopped_around(change: BusinessChange) -> list[CustomerScore]:
    """Lapsed customers whose last purchase fell within the window around the change (the
    organization's setting, 6 weeks by default, before or after): those who stopped then."""
    row = settings_row()
    weeks = row.change_window_weeks if row else 6
    tz = current_org().tz
    start = dt.datetime.combine(change.occurred_on, dt.time.min, tzinfo=tz)
    return list(
        CustomerScore.objects.filter(
            lapsed=True,
            customer__status=CustomerStatus.ACTIVE,
            last_purchase_at__gte=start - dt.timedelta(weeks=weeks),
            last_purchase_at__lt=start + dt.timedelta(weeks=weeks),
        )
        .select_related("customer")
        .order_by("-monthly_value", "customer_id")
    )


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _month_date(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def monthly_revenue(now: dt.datetime | None = None) -> list[tuple[dt.date, Decimal, int]]:
    """(month, net revenue, purchases) for every month from the first purchase to now,
    in the organization's time zone."""
    now = now or timezone.now()
    tz = current_org().tz
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    count: dict[int, int] = defaultdict(int)
    for _cid, at, net in purchase_rows(now):
        m = _month_index(at.astimezone(tz).date())
        revenue[m] += net
        count[m] += 1
    if not revenue:
        return []
    last = _month_index(now.astimezone(tz).date())
    return [
        (_month_date(m), revenue.get(m, ZERO), count.get(m, 0))
        for m in range(min(revenue), last + 1)
    ]


def around(
    months: list[tuple[dt.date, Decimal, int]], day: dt.date, span: int = 6
) -> tuple[list[tuple[dt.date, Decimal, int]], Decimal | None, Decimal | None]:
    """The months from ``span`` before the change's month to ``span`` after, and the mean
    monthly revenue of the full months before and after it (the change's month is in
    neither)."""
    m0 = _month_index(day)
    window = [row for row in months if m0 - span <= _month_index(row[0]) <= m0 + span]
    before = [r[1] for r in window if _month_index(r[0]) < m0]
    after = [r[1] for r in window if _month_index(r[0]) > m0]
    # The current month is not over: leave it out of the mean.
    if after and months and window and window[-1][0] == months[-1][0]:
        after = after[:-1]

    def mean(values: list[Decimal]) -> Decimal | None:
        return (sum(values, ZERO) / len(values)).quantize(Decimal("0.01")) if values else None

    return window, mean(before), mean(after)


# --------------------------------------------------------------------------- cohorts


def cohorts(now: dt.datetime | None = None) -> rfm.Cohorts:
    now = now or timezone.now()
    tz = current_org().tz
    rows = purchase_rows(now)
    customer = [r[0] for r in rows]
    month = [_month_index(r[1].astimezone(tz).date()) for r in rows]
    amount = [float(r[2]) for r in rows]
    return rfm.cohorts(customer, month, amount, _month_index(now.astimezone(tz).date()))


def month_date(index: int) -> dt.date:
    return _month_date(index)


def latest_runs(limit: int = 10) -> QuerySet[ModelRun]:
    return ModelRun.objects.order_by("-started_at", "-id")[:limit]
