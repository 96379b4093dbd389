"""Referral analytics over 1,000,000 customers against a scipy.sparse.csgraph baseline.

Graph: a random referral forest of depth up to 12. About 60 % of the customers joined on their
own (roots); the other 40 % are spread over levels 1..12 with geometrically shrinking sizes,
each referred by a uniformly drawn customer of the level above. Customer indices are shuffled
and the referrals are recorded in a random order; 1 % of them are recorded twice and 0.1 % are
answered by a reversed referral (B refers A after A referred B), so the input carries the
duplicates and loops that real data has. First-year revenue: random cents, about 30 % zero.

Ours (``cueillette.referrals.graph``): from the raw referrals, clean them into a forest
(self-referrals, duplicates, second referrers, loops), then every customer's direct referrals,
total reach and referred first-year revenue (direct and whole subtree).

Baseline (scipy.sparse.csgraph, over the SAME graph already cleaned: the accepted referrals,
so it does less work than ours): the forest as a CSR adjacency matrix; one
``csgraph.breadth_first_order`` traversal of the whole forest from a virtual root above every
tree (checks every customer is reached, i.e. it is a forest); then the same figures
breadth-first, frontier by frontier with sparse products ``x_{k+1} = A x_k`` (direct =
``A 1``, reach = ``sum_k A^k 1``, revenue likewise with the revenue vector) until the frontier
is empty. Both results are checked equal.

Target: ours under 10 s and at most 3x the baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cueillette.referrals import graph

MAX_DEPTH = 12


def make_graph(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    referred = int(n * 0.4)
    weights = 0.6 ** np.arange(MAX_DEPTH)
    sizes = np.floor(referred * weights / weights.sum()).astype(np.int64)
    sizes[0] += referred - sizes.sum()
    level_sizes = np.concatenate([[n - referred], sizes])
    labels = rng.permutation(n).astype(np.int64)  # customer index of each generated node
    starts = np.concatenate([[0], np.cumsum(level_sizes)])
    src_parts, dst_parts = [], []
    for level in range(1, MAX_DEPTH + 1):
        lo, hi = starts[level], starts[level + 1]
        plo, phi = starts[level - 1], starts[level]
        parents = rng.integers(plo, phi, size=hi - lo)
        src_parts.append(labels[parents])
        dst_parts.append(labels[np.arange(lo, hi)])
    src = np.concatenate(src_parts)
    dst = np.concatenate(dst_parts)
    order = rng.permutation(src.size)
    src, dst = src[order], dst[order]
    dup = rng.choice(src.size, size=src.size // 100, replace=False)
    rev = rng.choice(src.size, size=src.size // 1000, replace=False)
    selfs = rng.choice(n, size=src.size // 1000, replace=False).astype(np.int64)
    src, dst = (
        np.concatenate([src, src[dup], dst[rev], selfs]),
        np.concatenate([dst, dst[dup], src[rev], selfs]),
    )
    tail = rng.permutation(np.arange(order.size, src.size))  # replays come later, shuffled
    src[order.size :], dst[order.size :] = src[tail], dst[tail]
    revenue = rng.integers(0, 500_000, size=n, dtype=np.int64)
    revenue[rng.random(n) < 0.3] = 0
    return src, dst, revenue


def ours(
    n: int, src: np.ndarray, dst: np.ndarray, revenue: np.ndarray
) -> tuple[graph.ReferralForest, graph.AdvocateStats]:
    forest = graph.build_forest(n, src, dst)
    return forest, graph.advocate_stats(forest, revenue)


def baseline(
    n: int, parent: np.ndarray, revenue: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    child = np.flatnonzero(parent >= 0)
    # Rows: referrer (the virtual root n for every root), columns: friend.
    root_nodes = np.flatnonzero(parent < 0)
    rows = np.concatenate([parent[child], np.full(root_nodes.size, n)])
    cols = np.concatenate([child, root_nodes])
    full = sparse.csr_matrix(
        (np.ones(rows.size, dtype=np.int64), (rows, cols)), shape=(n + 1, n + 1)
    )
    order = csgraph.breadth_first_order(full, n, directed=True, return_predecessors=False)
    if order.size != n + 1:
        raise AssertionError("the baseline traversal did not reach every customer")
    adjacency = full[:n, :n].tocsr()
    ones = np.ones(n, dtype=np.int64)
    direct = adjacency @ ones
    direct_revenue = adjacency @ revenue
    reach = np.zeros(n, dtype=np.int64)
    reach_revenue = np.zeros(n, dtype=np.int64)
    count_frontier, money_frontier = direct, direct_revenue
    while count_frontier.any():
        reach += count_frontier
        reach_revenue += money_frontier
        count_frontier = adjacency @ count_frontier
        money_frontier = adjacency @ money_frontier
    return direct, reach, direct_revenue, reach_revenue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs each")
    cli = parser.parse_args()
    n = cli.nodes

    src, dst, revenue = make_graph(n, cli.seed)
    print(f"{n:,} customers, {src.size:,} recorded referrals (with duplicates and loops)")

    ours_s = float("inf")
    for _ in range(cli.repeat):
        start = time.perf_counter()
        forest, stats = ours(n, src, dst, revenue)
        ours_s = min(ours_s, time.perf_counter() - start)
    counts = np.bincount(forest.edge_status, minlength=len(graph.STATUS_NAMES))
    print(
        "cleaning: "
        + ", ".join(f"{name} {c:,}" for name, c in zip(graph.STATUS_NAMES, counts, strict=True))
    )
    max_depth = int(forest.depth.max())
    advocates = int((stats.direct > 0).sum())
    print(
        f"forest: depth {max_depth}, {advocates:,} advocates, "
        f"largest reach {int(stats.reach.max()):,}"
    )

    baseline_s = float("inf")
    for _ in range(cli.repeat):
        start = time.perf_counter()
        expected = baseline(n, forest.parent, revenue)
        baseline_s = min(baseline_s, time.perf_counter() - start)
    got = (stats.direct, stats.reach, stats.direct_revenue, stats.reach_revenue)
    for name, a, b in zip(
        ("direct", "reach", "direct_revenue", "reach_revenue"), got, expected, strict=True
    ):
        if not np.array_equal(a, b):
            raise AssertionError(f"{name} differs from the baseline")
    print("results equal to the baseline: yes")

    ratio = ours_s / baseline_s
    met = ours_s < 10 and ratio <= 3
    print(
        f"ours {ours_s:.3f} s (cleaning included), baseline {baseline_s:.3f} s, ratio {ratio:.2f}"
    )
    print(
        f"RESULT bench=referrals ratio={ratio:.2f} nodes={n} referrals={src.size} "
        f"depth={max_depth} advocates={advocates} largest_reach={int(stats.reach.max())} "
        + " ".join(f"{name}={c}" for name, c in zip(graph.STATUS_NAMES, counts, strict=True))
        + f" ours_s={ours_s:.3f} "
        f"baseline_s={baseline_s:.3f} target_met={'yes' if met else 'no'}"
    )


if __name__ == "__main__":
    main()
