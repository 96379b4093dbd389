"""Reads of the NPS: figures by month and by segment, comments, the follow-up list.

NPS = % of promoters (9 to 10) - % of detractors (0 to 6) among the answers, from -100 to +100,
rounded to the nearest whole number (halves away from zero). Months are calendar months in the
organization's time zone, by the day of the answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from cueillette.core.tenancy import current_org
from cueillette.feedback.models import CameFrom, Category, FollowUp, FollowUpNote, Survey

PROMOTER = Q(score__gte=9)
PASSIVE = Q(score__gte=7, score__lte=8)
DETRACTOR = Q(score__lte=6)


@dataclass(frozen=True)
class Nps:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def answers(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> int | None:
        """% promoters - % detractors, rounded (None without answers)."""
        n = self.answers
        if not n:
            return None
        num = 100 * (self.promoters - self.detractors)
        sign = -1 if num < 0 else 1
        return sign * ((2 * abs(num) + n) // (2 * n))

    def share(self, part: int) -> int:
        return round(100 * part / self.answers) if self.answers else 0

    @property
    def promoters_pct(self) -> int:
        return self.share(self.promoters)

    @property
    def passives_pct(self) -> int:
        return self.share(self.passives)

    @property
    def detractors_pct(self) -> int:
        return self.share(self.detractors)

    def as_dict(self) -> dict[str, int | None]:
        return {
            "nps": self.score,
            "answers": self.answers,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
        }


def nps_of_scores(scores: list[int]) -> Nps:
    return Nps(
        promoters=sum(1 for s in scores if s >= 9),
        passives=sum(1 for s in scores if 7 <= s <= 8),
        detractors=sum(1 for s in scores if s <= 6),
    )


COUNTS = {
    "promoters": Count("id", filter=PROMOTER),
    "passives": Count("id", filter=PASSIVE),
    "detractors": Count("id", filter=DETRACTOR),
}


def answered() -> QuerySet[Survey]:
    return Survey.objects.filter(answered_at__isnull=False, score__isnull=False)


def overall(since: dt.datetime | None = None) -> Nps:
    qs = answered()
    if since is not None:
        qs = qs.filter(answered_at__gte=since)
    row = qs.aggregate(**COUNTS)
    return Nps(**{k: int(v or 0) for k, v in row.items()})


def _tz() -> ZoneInfo:
    return current_org().tz


def month_start(when: dt.datetime, tz: ZoneInfo) -> dt.date:
    local = timezone.localtime(when, tz)
    return dt.date(local.year, local.month, 1)


def _months_back(first: dt.date, count: int) -> list[dt.date]:
    out = []
    y, m = first.year, first.month
    for _i in range(count):
        out.append(dt.date(y, m, 1))
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return list(reversed(out))


def since_months(months: int, now: dt.datetime | None = None) -> dt.datetime:
    """The first instant of the month ``months - 1`` months before this one (local time)."""
    tz = _tz()
    first = _months_back(month_start(now or timezone.now(), tz), months)[0]
    return dt.datetime(first.year, first.month, 1, tzinfo=tz)


@dataclass(frozen=True)
class MonthNps:
    month: dt.date
    nps: Nps


def by_month(months: int = 12, now: dt.datetime | None = None) -> list[MonthNps]:
    """The last ``months`` calendar months, oldest first, empty months included."""
    tz = _tz()
    now = now or timezone.now()
    keys = _months_back(month_start(now, tz), months)
    rows = (
        answered()
        .filter(answered_at__gte=since_months(months, now))
        .annotate(m=TruncMonth("answered_at", tzinfo=tz))
        .values("m")
        .annotate(**COUNTS)
    )
    found: dict[dt.date, Nps] = {}
    for raw in rows:
        row = cast(dict[str, Any], raw)
        m = row["m"]
        key = m.date() if isinstance(m, dt.datetime) else m
        key = dt.date(key.year, key.month, 1)
        prev = found.get(key, Nps())
        found[key] = Nps(
            promoters=prev.promoters + int(row["promoters"]),
            passives=prev.passives + int(row["passives"]),
            detractors=prev.detractors + int(row["detractors"]),
        )
    return [MonthNps(month=k, nps=found.get(k, Nps())) for k in keys]


SEGMENTS = ("tier", "came_from")


@dataclass(frozen=True)
class SegmentNps:
    key: str
    label: str
    nps: Nps


def by_segment(segment: str, since: dt.datetime | None = None) -> list[SegmentNps]:
    """NPS per tier (``tier``) or per way the customer came (``came_from``), largest first."""
    from cueillette.loyalty.models import Tier

    field = "tier_code" if segment == "tier" else "came_from"
    qs = answered()
    if since is not None:
        qs = qs.filter(answered_at__gte=since)
    rows = qs.values(field).annotate(**COUNTS)
    if segment == "tier":
        names = {t.code: t.name for t in Tier.objects.all()}
        labels = {code: names.get(code, code) for code in names}
        none_label = str(_no_tier())
    else:
        labels = {str(v): str(label) for v, label in CameFrom.choices}
        none_label = str(CameFrom.UNKNOWN.label)
    out = []
    for row in rows:
        key = str(row[field] or "")
        nps = Nps(
            promoters=int(row["promoters"]),
            passives=int(row["passives"]),
            detractors=int(row["detractors"]),
        )
        label = labels.get(key, key) if key else none_label
        out.append(SegmentNps(key=key, label=label, nps=nps))
    out.sort(key=lambda s: (-s.nps.answers, s.label))
    return out


def _no_tier() -> str:
    from django.utils.translation import gettext as _

    return _("No tier")


def comments(category: str | None = None) -> QuerySet[Survey]:
    """Answers with a comment, newest first, optionally of one category."""
    qs = answered().exclude(comment="").select_related("customer")
    if category == Category.PROMOTER:
        qs = qs.filter(PROMOTER)
    elif category == Category.PASSIVE:
        qs = qs.filter(PASSIVE)
    elif category == Category.DETRACTOR:
        qs = qs.filter(DETRACTOR)
    return qs.order_by("-answered_at", "-id")


def follow_ups(status: str | None = None) -> QuerySet[Survey]:
    """Detractors' answers with a follow-up, the ones to contact first, oldest first, each
    with its notes, newest first (``notes.all``)."""
    notes = FollowUpNote.objects.select_related("author").order_by("-created_at", "-id")
    qs = (
        answered()
        .exclude(follow_up=FollowUp.NONE)
        .select_related("customer", "follow_up_by")
        .prefetch_related(Prefetch("notes", queryset=notes))
    )
    if status in (FollowUp.TO_CONTACT, FollowUp.CONTACTED, FollowUp.RESOLVED):
        qs = qs.filter(follow_up=status)
    return qs.order_by("answered_at", "id")


def follow_up_counts() -> dict[str, int]:
    rows = answered().exclude(follow_up=FollowUp.NONE).values("follow_up").annotate(n=Count("id"))
    counts: dict[str, int] = {
        str(s): 0 for s in (FollowUp.TO_CONTACT, FollowUp.CONTACTED, FollowUp.RESOLVED)
    }
    for row in rows:
        counts[row["follow_up"]] = int(row["n"])
    return counts
