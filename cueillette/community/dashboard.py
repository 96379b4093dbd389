"""Listening: the owner's figures of the community page (read-only, current organization).

Every figure is about *visible* posts (not hidden): a hidden spam post needs no answer and says
nothing about the business. Sentiment sorts and alerts; nothing here hides or publishes.

* unanswered posts, oldest first (no public reply yet);
* median time to the first public reply, over the posts that have one;
* share of negative posts answered publicly;
* rating distribution (1 to 5 stars) and its trend month by month (12 months, the
  organization's time zone);
* sentiment counts and the "needs a human look" list;
* recurring themes (the organization's list, plus staff tags) and emerging words (words that
  recur across recent posts and match no theme yet: :func:`analysis.emerging_words`);
* the weekly digest's figures (:func:`digest`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from cueillette.community import analysis
from cueillette.community.models import Appeal, AppealDecision, Post, Sentiment
from cueillette.core.tenancy import current_org

UNANSWERED_SHOWN = 20
NEEDS_LOOK_SHOWN = 20
EMERGING_DAYS = 90
EMERGING_MIN_POSTS = 3
MONTHS = 12


@dataclass(frozen=True)
class MonthRatings:
    month: dt.date  # first day of the month
    count: int  # rated posts created that month
    average: float | None
    posts: int  # every visible post created that month


@dataclass(frozen=True)
class Dashboard:
    posts: int
    unanswered: list[Post]
    unanswered_count: int
    answered: int
    median_first_reply: dt.timedelta | None
    negative: int
    negative_answered: int
    ratings: dict[int, int]
    rating_average: float | None
    months: list[MonthRatings]
    sentiments: dict[str, int]
    needs_look: list[Post]
    needs_look_count: int
    themes: list[tuple[str, int]]
    emerging: list[tuple[str, int]]
    appeals_pending: int
    hidden: int
    acknowledged: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def negative_answered_share(self) -> float | None:
        """Percent of negative posts with a public reply (None without negative posts)."""
        if not self.negative:
            return None
        return round(100 * self.negative_answered / self.negative, 1)

    @property
    def answered_share(self) -> float | None:
        if not self.posts:
            return None
        return round(100 * self.answered / self.posts, 1)

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())


# "Answered" means the business answered: customers' answers in the thread do not count.
BUSINESS_REPLIES = ~Q(replies__author_role="customer")


def visible() -> QuerySet[Post]:
    return Post.objects.filter(hidden=False)


def unanswered(qs: QuerySet[Post] | None = None) -> QuerySet[Post]:
    """Visible posts without a public reply, oldest first."""
    base = visible() if qs is None else qs
    return (
        base.annotate(reply_count=Count("replies", filter=BUSINESS_REPLIES))
        .filter(reply_count=0)
        .order_by("created_at", "id")
    )


def median_first_reply(qs: QuerySet[Post] | None = None) -> dt.timedelta | None:
    """Median of (first public reply - post) over the posts answered at least once."""
    base = visible() if qs is None else qs
    delays = [
        (first - created).total_seconds()
        for created, first in base.annotate(
            first_reply_at=Min("replies__created_at", filter=BUSINESS_REPLIES)
        )
        .filter(first_reply_at__isnull=False)
        .values_list("created_at", "first_reply_at")
    ]
    if not delays:
        return None
    return dt.timedelta(seconds=statistics.median(delays))


def _month(value: dt.datetime, tz: Any) -> dt.date:
    local = timezone.localtime(value, tz)
    return dt.date(local.year, local.month, 1)


def _months_back(today: dt.date, count: int) -> list[dt.date]:
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(dt.date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(months))


def stored_analysis(post: Post) -> analysis.Analysis:
    """The analysis stored on a post, as :mod:`analysis` returns it (for its counting helpers)."""
    label = post.sentiment if post.sentiment in analysis.SENTIMENTS else "neutral"
    return analysis.Analysis(
        language="en" if post.language == "en" else "fr",
        sentiment=label,
        score=post.sentiment_score,
        positive=0.0,
        negative=0.0,
        needs_human_look=post.needs_human_look,
        reasons=tuple(post.look_reasons or ()),
        themes={name: () for name in (post.detected_themes or ())},
        emerging=tuple(post.emerging_words or ()),
        lemmatizer="stored",
    )


def theme_label(name: str) -> str:
    """A default theme's name in the current language; an organization's own name as is."""
    names = analysis.DEFAULT_THEME_NAMES.get(name)
    if names is None:
        return name
    return names["en"] if (get_language() or "fr")[:2] == "en" else names["fr"]


def theme_counts(qs: QuerySet[Post]) -> list[tuple[str, int]]:
    """Posts per theme: detected from the organization's list, or tagged by staff."""
    counts: Counter[str] = Counter()
    for detected, tagged in qs.values_list("detected_themes", "themes"):
        counts.update(set(detected or ()) | set(tagged or ()))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def emerging(now: dt.datetime, *, days: int = EMERGING_DAYS) -> list[tuple[str, int]]:
    posts = (
        visible()
        .filter(created_at__gte=now - dt.timedelta(days=days))
        .only(
            "sentiment",
            "sentiment_score",
            "language",
            "needs_human_look",
            "look_reasons",
            "detected_themes",
            "emerging_words",
        )
    )
    return analysis.emerging_words(
        (stored_analysis(p) for p in posts.iterator()), min_posts=EMERGING_MIN_POSTS
    )


def build(now: dt.datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    org = current_org()
    tz = org.tz
    posts = visible()
    total = posts.count()
    waiting = unanswered(posts)
    negative_qs = posts.filter(sentiment=Sentiment.NEGATIVE).annotate(
        n=Count("replies", filter=BUSINESS_REPLIES)
    )
    negative = negative_qs.count()
    negative_answered = negative_qs.filter(n__gt=0).count()
    ratings = dict.fromkeys(range(1, 6), 0)
    for rating, n in (
        posts.filter(rating__isnull=False).values_list("rating").annotate(n=Count("id")).order_by()
    ):
        ratings[int(rating)] = n
    rated = sum(ratings.values())
    average = round(sum(k * v for k, v in ratings.items()) / rated, 2) if rated else None

    months = _months_back(timezone.localtime(now, tz).date(), MONTHS)
    first = months[0]
    start = timezone.make_aware(dt.datetime(first.year, first.month, 1), tz)
    per_month: dict[dt.date, list[int]] = {m: [] for m in months}
    posts_per_month: Counter[dt.date] = Counter()
    for created, rating in posts.filter(created_at__gte=start).values_list("created_at", "rating"):
        month = _month(created, tz)
        if month not in per_month:
            continue
        posts_per_month[month] += 1
        if rating is not None:
            per_month[month].append(int(rating))
    month_rows = [
        MonthRatings(
            month=m,
            count=len(values),
            average=round(sum(values) / len(values), 2) if values else None,
            posts=posts_per_month[m],
        )
        for m, values in per_month.items()
    ]

    sentiments = dict.fromkeys(Sentiment.values, 0)
    for label, n in posts.values_list("sentiment").annotate(n=Count("id")).order_by():
        sentiments[label] = n
    look = posts.filter(needs_human_look=True).order_by("-created_at", "-id")
    answered = posts.filter(replies__isnull=False).distinct().count()
    return Dashboard(
        posts=total,
        unanswered=list(waiting[:UNANSWERED_SHOWN]),
        unanswered_count=waiting.count(),
        answered=answered,
        median_first_reply=median_first_reply(posts),
        negative=negative,
        negative_answered=negative_answered,
        ratings=ratings,
        rating_average=average,
        months=month_rows,
        sentiments=sentiments,
        needs_look=list(look[:NEEDS_LOOK_SHOWN]),
        needs_look_count=look.count(),
        themes=theme_counts(posts),
        emerging=emerging(now),
        appeals_pending=Appeal.objects.filter(decision=AppealDecision.PENDING).count(),
        hidden=Post.objects.filter(hidden=True).count(),
        acknowledged=posts.filter(acknowledged=True).count(),
    )


def digest(now: dt.datetime | None = None, *, days: int = 7) -> dict[str, Any]:
    """The weekly digest's figures: the last ``days`` days, and what waits now."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    week = visible().filter(created_at__gte=since)
    new = week.count()
    negative = week.filter(sentiment=Sentiment.NEGATIVE).count()
    waiting = unanswered()
    return {
        "since": since,
        "new_posts": new,
        "new_by_kind": dict(week.values_list("kind").annotate(n=Count("id")).order_by()),
        "negative": negative,
        "negative_share": round(100 * negative / new, 1) if new else None,
        "needs_look": week.filter(needs_human_look=True).count(),
        "unanswered_count": waiting.count(),
        "unanswered": list(waiting[:5]),
        # Keys, not labels: each owner's email names the themes in their own language.
        "themes": theme_counts(week)[:5],
        "appeals_pending": Appeal.objects.filter(decision=AppealDecision.PENDING).count(),
        "replies": Post.objects.filter(
            Q(replies__created_at__gte=since) & BUSINESS_REPLIES, hidden=False
        )
        .distinct()
        .count(),
    }
