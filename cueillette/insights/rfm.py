"""From purchases to per-customer summaries, RFM scores, segments and lapses. Pure numpy.

Purchases come as three parallel arrays (customer id, exact time in seconds since the epoch,
net amount); nothing is rounded to days. The summary gives what the models need (``x`` repeat
purchases, ``t_x`` and ``T`` measured from the first purchase) plus what the pages show
(first/last purchase, total and mean repeat spend, the customer's usual gap).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DAY = 86_400.0
WEEK = 7 * DAY
MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class Summary:
    """One row per customer who bought at least once, sorted by customer id."""

    customer: IntArray
    n: IntArray  # purchases (the first included)
    first: Array  # seconds since the epoch
    last: Array
    total: Array  # net spend of every purchase
    repeat_mean: Array  # mean net spend of the repeat purchases (0 without any)
    now: float

    @property
    def frequency(self) -> Array:
        """Repeat purchases ``x``."""
        return (self.n - 1).astype(np.float64)

    def recency(self, unit: float = WEEK) -> Array:
        """``t_x``: time from the first to the last purchase."""
        return (self.last - self.first) / unit

    def age(self, unit: float = WEEK) -> Array:
        """``T``: time from the first purchase to now."""
        return (self.now - self.first) / unit

    def days_since_last(self) -> Array:
        return (self.now - self.last) / DAY

    def __len__(self) -> int:
        return len(self.customer)


def group_index(customer: npt.NDArray[np.int64]) -> tuple[IntArray, npt.NDArray[np.intp]]:
    """The distinct customer ids (sorted) and each purchase's position among them.

    Database ids are nearly dense, so a bincount over the id range finds them without sorting
    the purchases; sparse ids fall back on ``np.unique``.
    """
    low = int(customer.min())
    span = int(customer.max()) - low + 1
    if span <= 4 * customer.size + 1024:
        present = np.bincount(customer - low, minlength=span) > 0
        position = np.cumsum(present) - 1
        ids = (np.flatnonzero(present) + low).astype(np.int64)
        return ids, position[customer - low].astype(np.intp)
    ids, inverse = np.unique(customer, return_inverse=True)
    return ids.astype(np.int64), inverse.reshape(-1).astype(np.intp)


def summarise(
    customer: npt.ArrayLike, at: npt.ArrayLike, amount: npt.ArrayLike, now: float
) -> Summary:
    """Group purchases by customer in a few linear passes (no sort of the purchases);
    purchases after ``now`` are ignored."""
    cust = np.asarray(customer, dtype=np.int64)
    t = np.asarray(at, dtype=np.float64)
    amt = np.asarray(amount, dtype=np.float64)
    keep = t <= now
    if not keep.all():
        cust, t, amt = cust[keep], t[keep], amt[keep]
    if cust.size == 0:
        empty = np.zeros(0)
        return Summary(
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            empty,
            empty,
            empty,
            empty,
            now,
        )
    ids, g = group_index(cust)
    k = ids.size
    n = np.bincount(g, minlength=k).astype(np.int64)
    total = np.bincount(g, weights=amt, minlength=k).astype(np.float64)
    first = np.full(k, np.inf)
    np.minimum.at(first, g, t)
    last = np.full(k, -np.inf)
    np.maximum.at(last, g, t)
    # The first purchase's amount (purchases at the very same instant share it equally).
    is_first = t == first[g]
    first_amount = np.bincount(g[is_first], weights=amt[is_first], minlength=k) / np.bincount(
        g[is_first], minlength=k
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        repeat_mean = np.where(n > 1, (total - first_amount) / np.maximum(n - 1, 1), 0.0)
    return Summary(ids, n, first, last, total, repeat_mean, float(now))


# --------------------------------------------------------------------------- scores


def quintile_scores(values: Array, *, higher_is_better: bool = True) -> npt.NDArray[np.int8]:
    """Scores 1..5 by rank among the customers (ties share the average rank, so equal values
    always get the same score; 5 is best): ``ceil(5 * average rank / n)``.

    Linear time, no sort: the score only moves at four values. The k-th is the smallest value
    whose average rank exceeds ``k n / 5``; it is the value at the 0-based sorted position
    ``floor(k n / 5) - 1`` (found by ``np.partition``) or the next distinct value above it (a
    value below it ranks at most there, the next one at least two places further), decided by
    counting, in integers, how many are below and equal. (:func:`quintile_scores_by_sort`
    is the same rule written with a sort, for the tests.)
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    v = np.asarray(values if higher_is_better else -values, dtype=np.float64)
    positions = sorted({max(0, (k * n) // 5 - 1) for k in range(1, 5)})
    at = np.partition(v, positions)
    scores = np.ones(n, dtype=np.int8)
    for k in range(1, 5):
        c = at[max(0, (k * n) // 5 - 1)]
        below = int(np.count_nonzero(v < c))
        equal = int(np.count_nonzero(v == c))
        # average rank of c = below + (equal + 1) / 2 > k n / 5, in integers
        if 5 * (2 * below + equal + 1) > 2 * k * n:
            threshold = c
        else:
            above = v[v > c]
            if above.size == 0:
                continue  # nobody ranks above k n / 5 (cannot happen for k < 5)
            threshold = above.min()
        scores += v >= threshold
    return scores


def quintile_scores_by_sort(
    values: Array, *, higher_is_better: bool = True
) -> npt.NDArray[np.int8]:
    """:func:`quintile_scores` through a full sort and explicit average ranks (the reference)."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    v = values if higher_is_better else -values
    order = np.argsort(v, kind="stable")
    sorted_v = v[order]
    uniq_start = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
    uniq_end = np.r_[uniq_start[1:], n]
    avg_rank = (uniq_start + uniq_end + 1) / 2.0
    ranks = np.empty(n)
    ranks[order] = np.repeat(avg_rank, uniq_end - uniq_start)
    return np.clip(np.ceil(5 * ranks / n), 1, 5).astype(np.int8)


class Segment(StrEnum):
    CHAMPIONS = "champions"
    LOYAL = "loyal"
    NEW = "new"
    PROMISING = "promising"
    NEED_ATTENTION = "need_attention"
    AT_RISK = "at_risk"
    CANT_LOSE = "cant_lose"
    HIBERNATING = "hibernating"
    LOST = "lost"


# The grid: rows are the recency score (5 = came lately), columns the frequency-and-value
# score (5 = comes often and spends much). Read it as the picture on the segments page.
SEGMENT_GRID: dict[int, tuple[Segment, Segment, Segment, Segment, Segment]] = {
    5: (Segment.NEW, Segment.PROMISING, Segment.PROMISING, Segment.CHAMPIONS, Segment.CHAMPIONS),
    4: (Segment.PROMISING, Segment.PROMISING, Segment.PROMISING, Segment.LOYAL, Segment.LOYAL),
    3: (
        Segment.NEED_ATTENTION,
        Segment.NEED_ATTENTION,
        Segment.NEED_ATTENTION,
        Segment.LOYAL,
        Segment.LOYAL,
    ),
    2: (
        Segment.HIBERNATING,
        Segment.HIBERNATING,
        Segment.AT_RISK,
        Segment.AT_RISK,
        Segment.CANT_LOSE,
    ),
    1: (Segment.LOST, Segment.LOST, Segment.AT_RISK, Segment.AT_RISK, Segment.CANT_LOSE),
}
SEGMENT_ORDER = tuple(Segment)
_GRID_CODES = np.array(
    [[SEGMENT_ORDER.index(SEGMENT_GRID[r][fm - 1]) for fm in range(1, 6)] for r in range(1, 6)],
    dtype=np.int8,
)


def fm_scores(f: npt.NDArray[np.int8], m: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """The grid's column: the mean of the frequency and value scores, halves rounded up."""
    return np.ceil((f.astype(np.float64) + m) / 2).astype(np.int8)


def segments(r: npt.NDArray[np.int8], fm: npt.NDArray[np.int8]) -> list[Segment]:
    idx = _GRID_CODES[r.astype(np.intp) - 1, fm.astype(np.intp) - 1]
    return [SEGMENT_ORDER[i] for i in idx]


@dataclass(frozen=True)
class Scores:
    r: npt.NDArray[np.int8]
    f: npt.NDArray[np.int8]
    m: npt.NDArray[np.int8]
    fm: npt.NDArray[np.int8]
    segment: list[Segment]


def score(summary: Summary) -> Scores:
    """Recency (days since the last purchase, fewer is better), frequency (purchases) and
    value (total net spend) scores, each 1..5 among this organization's customers."""
    r = quintile_scores(summary.days_since_last(), higher_is_better=False)
    f = quintile_scores(summary.n.astype(np.float64))
    m = quintile_scores(summary.total)
    fm = fm_scores(f, m)
    return Scores(r, f, m, fm, segments(r, fm) if len(r) else [])


# --------------------------------------------------------------------------- lapses


@dataclass(frozen=True)
class Lapse:
    usual_gap_days: Array  # the customer's mean gap, or the organization's median for one-timers
    lapsed: npt.NDArray[np.bool_]
    lapsed_at: Array  # seconds: last purchase + factor x usual gap (NaN when not lapsed)
    monthly_value: Array  # what they spent per month while they came


def lapses(summary: Summary, factor: float, *, min_gap_days: float = 1.0) -> Lapse:
    """A customer has lapsed when they have not bought for ``factor`` times their usual gap.

    The usual gap is the mean time between their purchases (``t_x / x``); customers with one
    purchase take the median usual gap of the organization's repeat customers (a week when
    there are none). Gaps are at least ``min_gap_days`` so two receipts the same hour do not
    make a customer "lapsed" the next morning.

    Monthly value: their net spend divided by the months they were a customer, from the first
    purchase to one usual gap after the last (at least one month).
    """
    x = summary.frequency
    span_days = (summary.last - summary.first) / DAY
    repeat = x > 0
    own_gap = np.divide(span_days, x, out=np.zeros_like(span_days), where=repeat)
    typical = float(np.median(own_gap[repeat])) if repeat.any() else 7.0
    gap = np.maximum(np.where(repeat, own_gap, typical), min_gap_days)
    since = summary.days_since_last()
    lapsed = since > factor * gap
    lapsed_at = np.where(lapsed, summary.last + factor * gap * DAY, np.nan)
    months = np.maximum((span_days + gap) / MONTH_DAYS, 1.0)
    return Lapse(gap, lapsed, lapsed_at, summary.total / months)


# --------------------------------------------------------------------------- cohorts


@dataclass(frozen=True)
class Cohorts:
    months: list[int]  # cohort month index (year * 12 + month - 1), oldest first
    size: list[int]
    # retention[i][k]: share of cohort i who bought in its k-th month after the first (k=0: 1.0)
    retention: list[list[float | None]]
    revenue: list[float]  # net revenue brought by each cohort, all months
    returning_share: list[tuple[int, float | None]]  # (month, share of revenue from returning)


def cohorts(
    customer: npt.ArrayLike, month: npt.ArrayLike, amount: npt.ArrayLike, current_month: int
) -> Cohorts:
    """Retention by month of first purchase, revenue per cohort and, for each calendar month,
    the share of revenue from customers who had bought in an earlier month.

    ``month`` is each purchase's local calendar month as ``year * 12 + month - 1``.
    """
    cust = np.asarray(customer, dtype=np.int64)
    mon = np.asarray(month, dtype=np.int64)
    amt = np.asarray(amount, dtype=np.float64)
    if cust.size == 0:
        return Cohorts([], [], [], [], [])
    uniq, inv = np.unique(cust, return_inverse=True)
    first = np.full(uniq.size, np.iinfo(np.int64).max)
    np.minimum.at(first, inv, mon)
    cohort = first[inv]
    age = mon - cohort
    months = sorted(set(first.tolist()))
    index = {m: i for i, m in enumerate(months)}
    size = np.bincount([index[m] for m in first.tolist()], minlength=len(months))
    # Distinct (customer, age) pairs: a customer counts once per month of activity.
    pairs = np.unique(np.stack([inv, age]), axis=1)
    pair_cohort = np.array([index[m] for m in first[pairs[0]].tolist()], dtype=np.int64)
    span = current_month - months[0] + 1
    counts = np.zeros((len(months), span), dtype=np.int64)
    np.add.at(counts, (pair_cohort, pairs[1]), 1)
    retention: list[list[float | None]] = []
    for i, m in enumerate(months):
        horizon = current_month - m + 1
        retention.append([float(counts[i, k] / size[i]) for k in range(horizon)])
    cohort_idx = np.array([index[m] for m in cohort.tolist()], dtype=np.int64)
    revenue = np.bincount(cohort_idx, weights=amt, minlength=len(months))
    all_months = list(range(months[0], current_month + 1))
    returning: list[tuple[int, float | None]] = []
    for m in all_months:
        in_month = mon == m
        total = float(amt[in_month].sum())
        ret = float(amt[in_month & (cohort < m)].sum())
        returning.append((m, ret / total if total > 0 else None))
    return Cohorts(months, size.tolist(), retention, revenue.tolist(), returning)
