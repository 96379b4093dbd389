"""Referral graph analytics: who brought whom, directly and through friends of friends.

Pure numpy, no database: the caller maps its customers to indices ``0 .. n-1`` and passes the
recorded referrals as two parallel integer arrays ``referrers[i] -> friends[i]`` in the order
they were recorded (oldest first). Everything is vectorised; the only Python loops run over
pointer-doubling rounds (``log2 n``) and over tree levels (the depth of the forest).

How raw referrals become a forest (every customer has at most one accepted referrer and no
customer is their own ancestor):

1. **Self-referrals** (``referrer == friend``) are not counted (:data:`SELF`).
2. **One referrer per friend**: the first recorded referral naming a friend is that friend's
   *candidate* link. Every later referral naming the same friend is not counted: a
   :data:`DUPLICATE` if it repeats the candidate's referrer, a :data:`SECOND_REFERRER`
   otherwise. Duplicates therefore count once.
3. **Loops**: replaying the candidate links in the order they were recorded, a link whose
   friend is already an ancestor of its referrer would close a loop; it is not counted
   (:data:`LOOP`) and that friend stays without a referrer (A refers B, then B refers A: the
   second referral is the loop). Equivalently: the candidate links form a graph where every
   node has at most one parent, so each connected piece holds at most one cycle, and the cycle
   is broken by dropping its most recently recorded link.

Every other referral is :data:`ACCEPTED`. :func:`build_forest` applies these rules and keeps,
for each input referral, the reason it was or was not counted, so that the application can
show it ("loop: this friend referred the referrer first").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: Status of each input referral (``ReferralForest.edge_status``).
ACCEPTED = 0
SELF = 1
DUPLICATE = 2
SECOND_REFERRER = 3
LOOP = 4
STATUS_NAMES = ("accepted", "self", "duplicate", "second_referrer", "loop")

NO_PARENT = -1


@dataclass(frozen=True, slots=True)
class ReferralForest:
    """The cleaned referral forest over customers ``0 .. n-1``.

    ``parent[v]`` is the index of v's accepted referrer, or ``-1``; ``depth[v]`` the number of
    referral links between v and the root of its tree (0 for a customer nobody referred);
    ``edge_status[i]`` the fate of input referral ``i`` (see the module docstring).
    ``levels[d]`` lists the customers at depth ``d``.
    """

    n: int
    parent: IntArray
    depth: IntArray
    edge_status: IntArray
    levels: tuple[IntArray, ...]

    @property
    def accepted(self) -> BoolArray:
        """Mask over the input referrals: True for those counted in the forest."""
        return self.edge_status == ACCEPTED


@dataclass(frozen=True, slots=True)
class AdvocateStats:
    """Per-customer figures, each an array of length n (revenue in cents)."""

    direct: IntArray
    reach: IntArray
    direct_revenue: IntArray
    reach_revenue: IntArray


def _as_index_array(values: npt.ArrayLike, name: str, n: int) -> IntArray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if array.size and (int(array.min()) < 0 or int(array.max()) >= n):
        raise ValueError(f"{name} must hold customer indices between 0 and {n - 1}")
    return array


def _rounds(n: int) -> int:
    """Pointer-doubling rounds so that 2**rounds >= n (every path is shorter than n)."""
    return max(1, int(n - 1).bit_length())


def build_forest(n: int, referrers: npt.ArrayLike, friends: npt.ArrayLike) -> ReferralForest:
    """Apply the rules of the module docstring to the recorded referrals, oldest first."""
    if n < 0:
        raise ValueError(f"n must be zero or more, got {n}")
    src = _as_index_array(referrers, "referrers", n)
    dst = _as_index_array(friends, "friends", n)
    if src.shape != dst.shape:
        raise ValueError(
            f"referrers and friends must have the same length, got {src.size} and {dst.size}"
        )
    m = src.size
    status = np.full(m, SECOND_REFERRER, dtype=np.int64)
    parent = np.full(n, NO_PARENT, dtype=np.int64)
    rank = np.full(n, -1, dtype=np.int64)  # input position of each node's candidate link

    is_self = src == dst
    status[is_self] = SELF
    candidates = np.flatnonzero(~is_self)
    # First recorded (non-self) referral per friend: np.unique returns first occurrences.
    _, first = np.unique(dst[candidates], return_index=True)
    first_edges = candidates[first]
    status[first_edges] = ACCEPTED
    parent[dst[first_edges]] = src[first_edges]
    rank[dst[first_edges]] = first_edges
    # Later referrals repeating the candidate's referrer are duplicates.
    later = candidates[status[candidates] == SECOND_REFERRER]
    status[later[src[later] == parent[dst[later]]]] = DUPLICATE

    _break_cycles(n, parent, rank, status)
    depth = _depths(n, parent)
    levels = _levels(depth)
    return ReferralForest(n=n, parent=parent, depth=depth, edge_status=status, levels=levels)


def _break_cycles(n: int, parent: IntArray, rank: IntArray, status: IntArray) -> None:
    """Drop the most recently recorded link of every cycle, in place.

    Pointer doubling over ``parent`` (roots point to themselves): after ``k`` rounds
    ``jump[v]`` is v's ``2**k``-th ancestor and ``latest[v]`` the highest ``rank`` along the
    ``2**k`` links from v. With ``2**k >= n`` every walk has entered its final cycle (a root's
    self-loop, or a real cycle) and, for a node on a real cycle, ``latest`` covers the whole
    cycle; the node whose own rank equals it holds the link to drop.
    """
    if n == 0:
        return
    nodes = np.arange(n, dtype=np.int64)
    has_parent = parent != NO_PARENT
    jump = np.where(has_parent, parent, nodes)
    latest = rank.copy()
    for _ in range(_rounds(n)):
        latest = np.maximum(latest, latest[jump])
        jump = jump[jump]
    # Nodes reached after >= n steps are exactly the nodes on cycles (roots included).
    on_cycle = np.zeros(n, dtype=np.bool_)
    on_cycle[jump] = True
    drop = on_cycle & has_parent & (rank == latest)
    status[rank[drop]] = LOOP
    parent[drop] = NO_PARENT


def _depths(n: int, parent: IntArray) -> IntArray:
    """Number of links from each node up to its root, by pointer doubling (acyclic input)."""
    nodes = np.arange(n, dtype=np.int64)
    has_parent = parent != NO_PARENT
    jump = np.where(has_parent, parent, nodes)
    depth = has_parent.astype(np.int64)
    for _ in range(_rounds(n)):
        if not np.any(jump != jump[jump]):
            break
        depth = depth + depth[jump]
        jump = jump[jump]
    return depth


def _levels(depth: IntArray) -> tuple[IntArray, ...]:
    if depth.size == 0:
        return ()
    order = np.argsort(depth, kind="stable").astype(np.int64)
    bounds = np.cumsum(np.bincount(depth))[:-1]
    return tuple(np.split(order, bounds))


def roots(forest: ReferralForest) -> IntArray:
    """Customers nobody (countably) referred: the roots of the referral trees."""
    return np.flatnonzero(forest.parent == NO_PARENT).astype(np.int64)


def direct_counts(forest: ReferralForest) -> IntArray:
    """Number of accepted direct referrals of each customer."""
    referred = forest.parent[forest.parent != NO_PARENT]
    return np.bincount(referred, minlength=forest.n).astype(np.int64)


def _subtree_sums(forest: ReferralForest, values: IntArray) -> IntArray:
    """For each node, the sum of ``values`` over its whole subtree, itself included."""
    totals = values.astype(np.int64, copy=True)
    for level in reversed(forest.levels[1:]):
        np.add.at(totals, forest.parent[level], totals[level])
    return totals


def total_reach(forest: ReferralForest) -> IntArray:
    """Size of each customer's referral subtree (friends, friends of friends...), not counting
    the customer."""
    return _subtree_sums(forest, np.ones(forest.n, dtype=np.int64)) - 1


def _check_revenue(forest: ReferralForest, revenue: npt.ArrayLike) -> IntArray:
    cents = np.asarray(revenue)
    if cents.shape != (forest.n,):
        raise ValueError(
            f"revenue must have one value per customer ({forest.n}), got {cents.shape}"
        )
    if cents.size and not np.issubdtype(cents.dtype, np.integer):
        raise ValueError(f"revenue must be integer cents, got {cents.dtype}")
    return cents.astype(np.int64, copy=False)


def referred_revenue(
    forest: ReferralForest, revenue_first_year: npt.ArrayLike
) -> tuple[IntArray, IntArray]:
    """Revenue brought by each advocate, in cents: ``(direct, whole_subtree)``.

    ``direct[a]`` sums the first-year revenue of the customers a referred directly;
    ``whole_subtree[a]`` that of every customer in a's subtree (a excluded).
    """
    cents = _check_revenue(forest, revenue_first_year)
    direct = np.zeros(forest.n, dtype=np.int64)
    referred = forest.parent != NO_PARENT
    np.add.at(direct, forest.parent[referred], cents[referred])
    return direct, _subtree_sums(forest, cents) - cents


def advocate_stats(forest: ReferralForest, revenue_first_year: npt.ArrayLike) -> AdvocateStats:
    """Direct referrals, total reach and referred revenue (direct and whole subtree) at once,
    sharing one bottom-up pass for reach and subtree revenue."""
    cents = _check_revenue(forest, revenue_first_year)
    size = np.ones(forest.n, dtype=np.int64)
    money = cents.copy()
    parent = forest.parent
    for level in reversed(forest.levels[1:]):
        up = parent[level]
        np.add.at(size, up, size[level])
        np.add.at(money, up, money[level])
    referred = parent != NO_PARENT
    direct_revenue = np.zeros(forest.n, dtype=np.int64)
    np.add.at(direct_revenue, parent[referred], cents[referred])
    return AdvocateStats(
        direct=direct_counts(forest),
        reach=size - 1,
        direct_revenue=direct_revenue,
        reach_revenue=money - cents,
    )


def word_of_mouth_share(forest: ReferralForest, join_month: npt.ArrayLike) -> FloatArray:
    """Per month (``0 .. max``), the share of that month's new customers who came with an
    accepted referral; NaN for a month without new customers."""
    months = _as_index_array(join_month, "join_month", np.iinfo(np.int64).max)
    if months.shape != (forest.n,):
        raise ValueError(f"join_month must have one value per customer ({forest.n})")
    if months.size == 0:
        return np.zeros(0, dtype=np.float64)
    new = np.bincount(months)
    referred = np.bincount(months[forest.parent != NO_PARENT], minlength=new.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(new > 0, referred / np.maximum(new, 1), np.nan)


def viral_coefficient(forest: ReferralForest, join_month: npt.ArrayLike) -> FloatArray:
    """Per joining cohort (month ``0 .. max``): friends directly referred by the customers who
    joined that month, divided by the cohort's size (how many new customers each new customer
    brought); NaN for an empty cohort. Recent cohorts are naturally lower: their friends are
    still to come."""
    months = _as_index_array(join_month, "join_month", np.iinfo(np.int64).max)
    if months.shape != (forest.n,):
        raise ValueError(f"join_month must have one value per customer ({forest.n})")
    if months.size == 0:
        return np.zeros(0, dtype=np.float64)
    cohort = np.bincount(months)
    brought = np.bincount(months, weights=direct_counts(forest), minlength=cohort.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cohort > 0, brought / np.maximum(cohort, 1), np.nan)
