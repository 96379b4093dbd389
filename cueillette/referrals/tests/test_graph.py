"""Referral graph analytics against small exact examples and a pure-Python reference."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cueillette.referrals import graph
from cueillette.referrals.graph import (
    ACCEPTED,
    DUPLICATE,
    LOOP,
    SECOND_REFERRER,
    SELF,
    advocate_stats,
    build_forest,
    direct_counts,
    referred_revenue,
    roots,
    total_reach,
    viral_coefficient,
    word_of_mouth_share,
)


def forest_of(n: int, edges: list[tuple[int, int]]) -> graph.ReferralForest:
    src = np.array([a for a, _ in edges], dtype=np.int64)
    dst = np.array([b for _, b in edges], dtype=np.int64)
    return build_forest(n, src, dst)


# -- reference: the documented rules replayed one referral at a time ----------------------


def reference_forest(n: int, edges: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Sequential replay: returns (parent per node, status per edge)."""
    parent = [-1] * n
    named: dict[int, int] = {}  # friend -> referrer of the first non-self referral
    status: list[int] = []
    for a, b in edges:
        if a == b:
            status.append(SELF)
            continue
        if b in named:
            status.append(DUPLICATE if named[b] == a else SECOND_REFERRER)
            continue
        named[b] = a
        x = a  # is b an ancestor of a (or a itself)? then the link closes a loop
        loop = False
        while x != -1:
            if x == b:
                loop = True
                break
            x = parent[x]
        if loop:
            status.append(LOOP)
        else:
            parent[b] = a
            status.append(ACCEPTED)
    return parent, status


def reference_bfs(
    parent: list[int], revenue: list[int]
) -> tuple[list[int], list[int], list[int], list[int]]:
    n = len(parent)
    children: list[list[int]] = [[] for _ in range(n)]
    for v, p in enumerate(parent):
        if p != -1:
            children[p].append(v)
    direct = [len(c) for c in children]
    direct_rev = [sum(revenue[c] for c in children[v]) for v in range(n)]
    reach, reach_rev = [], []
    for v in range(n):
        seen: set[int] = set()
        queue = deque(children[v])
        while queue:
            x = queue.popleft()
            assert x not in seen and x != v
            seen.add(x)
            queue.extend(children[x])
        reach.append(len(seen))
        reach_rev.append(sum(revenue[x] for x in seen))
    return direct, reach, direct_rev, reach_rev


# -- exact examples --------------------------------------------------------------------------


def test_chain() -> None:
    f = forest_of(4, [(0, 1), (1, 2), (2, 3)])
    assert direct_counts(f).tolist() == [1, 1, 1, 0]
    assert total_reach(f).tolist() == [3, 2, 1, 0]
    assert f.depth.tolist() == [0, 1, 2, 3]
    assert roots(f).tolist() == [0]
    direct, whole = referred_revenue(f, np.array([1, 10, 100, 1000]))
    assert direct.tolist() == [10, 100, 1000, 0]
    assert whole.tolist() == [1110, 1100, 1000, 0]


def test_star() -> None:
    f = forest_of(5, [(0, 1), (0, 2), (0, 3), (0, 4)])
    assert direct_counts(f).tolist() == [4, 0, 0, 0, 0]
    assert total_reach(f).tolist() == [4, 0, 0, 0, 0]
    assert f.depth.tolist() == [0, 1, 1, 1, 1]


def test_two_way_loop_drops_the_second_referral() -> None:
    f = forest_of(2, [(0, 1), (1, 0)])
    assert f.edge_status.tolist() == [ACCEPTED, LOOP]
    assert f.parent.tolist() == [-1, 0]
    assert total_reach(f).tolist() == [1, 0]


def test_longer_loop_drops_the_link_that_closes_it() -> None:
    # 2 -> 0 recorded first, then 0 -> 1, then 1 -> 2 closes the loop.
    f = forest_of(4, [(2, 0), (0, 1), (1, 2), (1, 3)])
    assert f.edge_status.tolist() == [ACCEPTED, ACCEPTED, LOOP, ACCEPTED]
    assert f.parent.tolist() == [2, 0, -1, 1]
    assert total_reach(f).tolist() == [2, 1, 3, 0]
    assert roots(f).tolist() == [2]


def test_duplicates_count_once() -> None:
    f = forest_of(3, [(0, 1), (0, 1), (0, 2), (0, 1)])
    assert f.edge_status.tolist() == [ACCEPTED, DUPLICATE, ACCEPTED, DUPLICATE]
    assert direct_counts(f).tolist() == [2, 0, 0]


def test_friend_with_two_referrers_keeps_the_first() -> None:
    f = forest_of(3, [(1, 2), (0, 2)])
    assert f.edge_status.tolist() == [ACCEPTED, SECOND_REFERRER]
    assert f.parent.tolist() == [-1, -1, 1]
    assert direct_counts(f).tolist() == [0, 1, 0]


def test_self_referral_is_not_counted() -> None:
    f = forest_of(2, [(1, 1), (0, 1)])
    assert f.edge_status.tolist() == [SELF, ACCEPTED]
    assert f.parent.tolist() == [-1, 0]


def test_empty_inputs() -> None:
    f = forest_of(0, [])
    assert total_reach(f).tolist() == []
    f = forest_of(3, [])
    assert total_reach(f).tolist() == [0, 0, 0]
    assert roots(f).tolist() == [0, 1, 2]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="friends must hold customer indices"):
        build_forest(2, np.array([0]), np.array([2]))
    with pytest.raises(ValueError, match="same length"):
        build_forest(3, np.array([0, 1]), np.array([2]))
    with pytest.raises(ValueError, match="integer cents"):
        referred_revenue(forest_of(2, [(0, 1)]), np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="one value per customer"):
        referred_revenue(forest_of(2, [(0, 1)]), np.array([1]))


def test_monthly_figures() -> None:
    # 0 joins in month 0 and refers 1 and 2 (month 1); 2 refers 3 (month 1); 4 alone in month 1.
    f = forest_of(5, [(0, 1), (0, 2), (2, 3)])
    months = np.array([0, 1, 1, 1, 1])
    assert word_of_mouth_share(f, months).tolist() == [0.0, 0.75]
    assert viral_coefficient(f, months).tolist() == [2.0, 0.25]
    share = word_of_mouth_share(f, np.array([0, 2, 2, 2, 2]))
    assert np.isnan(share[1])


# -- properties over random graphs with cycles and duplicates --------------------------------


@st.composite
def referral_graphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]], list[int]]:
    n = draw(st.integers(min_value=1, max_value=30))
    node = st.integers(min_value=0, max_value=n - 1)
    edges = draw(st.lists(st.tuples(node, node), max_size=3 * n))
    if edges and draw(st.booleans()):  # replay some referrals: duplicates and reversals
        extra = draw(st.lists(st.sampled_from(edges), max_size=len(edges)))
        edges += [e if draw(st.booleans()) else (e[1], e[0]) for e in extra]
    revenue = draw(st.lists(st.integers(0, 10**12), min_size=n, max_size=n))
    return n, edges, revenue


@settings(max_examples=300, deadline=None)
@given(referral_graphs())
def test_matches_reference_breadth_first(
    case: tuple[int, list[tuple[int, int]], list[int]],
) -> None:
    n, edges, revenue = case
    f = forest_of(n, edges)
    parent, status = reference_forest(n, edges)
    assert f.parent.tolist() == parent
    assert f.edge_status.tolist() == status

    direct, reach, direct_rev, reach_rev = reference_bfs(parent, revenue)
    cents = np.array(revenue, dtype=np.int64)
    assert direct_counts(f).tolist() == direct
    assert total_reach(f).tolist() == reach
    got_direct_rev, got_reach_rev = referred_revenue(f, cents)
    assert got_direct_rev.tolist() == direct_rev
    assert got_reach_rev.tolist() == reach_rev

    stats = advocate_stats(f, cents)
    assert stats.direct.tolist() == direct
    assert stats.reach.tolist() == reach
    assert stats.direct_revenue.tolist() == direct_rev
    assert stats.reach_revenue.tolist() == reach_rev

    # No node in its own reach: a tree of k nodes has reach k - 1 at its root, and reach is
    # always below n; depths agree with the parent links.
    assert all(r < n for r in reach)
    assert sum(reach[r] + 1 for r in roots(f).tolist()) == n
    for v, p in enumerate(parent):
        assert f.depth[v] == (0 if p == -1 else f.depth[p] + 1)
    assert sorted(np.concatenate(f.levels).tolist()) == list(range(n))
