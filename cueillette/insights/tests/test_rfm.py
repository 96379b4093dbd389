"""Summaries, scores, segments, lapses and cohorts on hand-computed data. No database."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cueillette.insights import rfm
from cueillette.insights.rfm import DAY, WEEK, Segment

NOW = 1_780_000_000.0


def test_summary_uses_exact_times_and_net_amounts() -> None:
    cust = [7, 3, 7, 7, 3]
    at = [NOW - 10 * DAY, NOW - 3.5 * DAY, NOW - 2.25 * DAY, NOW - 20 * DAY, NOW + DAY]
    amount = [10.0, 99.0, 30.0, 5.0, 1000.0]  # the last one is after "now": ignored
    s = rfm.summarise(cust, at, amount, NOW)
    assert s.customer.tolist() == [3, 7]
    assert s.n.tolist() == [1, 3]
    assert s.total.tolist() == [99.0, 45.0]
    assert s.repeat_mean.tolist() == [0.0, 20.0]  # (10 + 30) / 2: the first purchase is left out
    assert s.recency().tolist() == pytest.approx([0.0, 17.75 / 7])  # not rounded to days
    assert s.age().tolist() == pytest.approx([3.5 / 7, 20 / 7])
    assert s.frequency.tolist() == [0.0, 2.0]


def test_quintile_scores_give_equal_values_equal_scores() -> None:
    scores = rfm.quintile_scores(np.array([1.0, 1, 1, 1, 2, 3, 4, 5, 6, 100]))
    assert scores.tolist()[:4] == [scores[0]] * 4
    assert scores[-1] == 5 and scores.min() >= 1
    assert rfm.quintile_scores(np.array([5.0, 1.0]), higher_is_better=False).tolist() == [3, 5]


@hsettings(max_examples=300)
@given(
    st.lists(st.sampled_from([0.0, 1.0, 2.5, 3.0, 7.0, 100.0]) | st.floats(-1e6, 1e6), max_size=80),
    st.booleans(),
)
def test_the_linear_time_quintiles_equal_the_sorted_ranks(
    values: list[float], higher: bool
) -> None:
    arr = np.array(values, dtype=np.float64)
    fast = rfm.quintile_scores(arr, higher_is_better=higher)
    assert fast.tolist() == rfm.quintile_scores_by_sort(arr, higher_is_better=higher).tolist()


def test_the_linear_time_quintiles_at_scale_with_heavy_ties() -> None:
    rng = np.random.default_rng(5)
    for arr in (
        rng.integers(1, 8, 200_001).astype(np.float64),  # frequency-like: a few values
        np.round(rng.gamma(2.0, 30.0, 100_000), 0),  # days: many ties
        rng.normal(size=99_999),  # no ties
    ):
        for higher in (True, False):
            fast = rfm.quintile_scores(arr, higher_is_better=higher)
            assert np.array_equal(fast, rfm.quintile_scores_by_sort(arr, higher_is_better=higher))


def test_the_grid_names_every_cell() -> None:
    r = np.repeat(np.arange(1, 6), 5).astype(np.int8)
    fm = np.tile(np.arange(1, 6), 5).astype(np.int8)
    names = rfm.segments(r, fm)
    assert names[24] == Segment.CHAMPIONS  # R5, FM5
    assert names[20] == Segment.NEW  # R5, FM1
    assert names[4] == Segment.CANT_LOSE  # R1, FM5
    assert names[0] == Segment.LOST
    assert set(names) == set(Segment)


@hsettings(max_examples=50)
@given(
    st.lists(
        st.tuples(st.integers(1, 30), st.floats(0, 700), st.floats(0, 500)), min_size=1, max_size=60
    )
)
def test_scores_are_between_1_and_5_for_any_history(rows: list[tuple[int, float, float]]) -> None:
    cust, days, amount = zip(*rows, strict=True)
    s = rfm.summarise(list(cust), [NOW - d * DAY for d in days], list(amount), NOW)
    sc = rfm.score(s)
    for arr in (sc.r, sc.f, sc.m, sc.fm):
        assert arr.min() >= 1 and arr.max() <= 5
    assert len(sc.segment) == len(s)
    lapse = rfm.lapses(s, 3.0)
    assert np.all(np.isfinite(lapse.monthly_value)) and np.all(lapse.monthly_value >= 0)


def test_lapse_is_k_times_the_usual_gap() -> None:
    # Weekly buyer, last seen 22 days ago (> 3 weeks): lapsed; another seen 20 days ago: not.
    cust = [1, 1, 1, 2, 2, 2, 3]
    at = [
        NOW - 36 * DAY,
        NOW - 29 * DAY,
        NOW - 22 * DAY,
        NOW - 34 * DAY,
        NOW - 27 * DAY,
        NOW - 20 * DAY,
        NOW - 25 * DAY,
    ]
    s = rfm.summarise(cust, at, [10.0] * 7, NOW)
    lapse = rfm.lapses(s, 3.0)
    assert lapse.usual_gap_days.tolist() == pytest.approx([7.0, 7.0, 7.0])  # one-timer: median
    assert lapse.lapsed.tolist() == [True, False, True]
    assert lapse.lapsed_at[0] == pytest.approx(NOW - 22 * DAY + 21 * DAY)
    # 30 spent over 14 days + one gap = 21 days: under a month, so one month.
    assert lapse.monthly_value[0] == pytest.approx(30.0)


def test_cohorts_retention_revenue_and_returning_share() -> None:
    # Month indexes 100, 101, 102. A: months 100 and 102; B: 100 only; C: 101 and 102.
    cust = [1, 1, 2, 3, 3]
    month = [100, 102, 100, 101, 102]
    amount = [10.0, 20.0, 5.0, 8.0, 2.0]
    c = rfm.cohorts(cust, month, amount, current_month=102)
    assert c.months == [100, 101]
    assert c.size == [2, 1]
    assert c.retention[0] == [1.0, 0.0, 0.5]
    assert c.retention[1] == [1.0, 1.0]
    assert c.revenue == [35.0, 10.0]
    assert c.returning_share == [(100, 0.0), (101, 0.0), (102, 1.0)]


def test_week_unit() -> None:
    assert WEEK == 7 * DAY
