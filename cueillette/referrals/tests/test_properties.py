"""Properties over random referral graphs (cycles, duplicates, self-referrals included):

* the reach the application shows equals a reference breadth-first count over the referrals
  it counts (first referrer of a friend wins, a link closing a loop is dropped);
* no referral is ever rewarded twice, whatever the purchases, refunds and reviews;
* balances stay equal to their ledgers and never negative.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.tests.factories import CustomerFactory
from cueillette.loyalty import services as loyalty
from cueillette.loyalty.models import Card, EntryKind, PointsEntry, Purchase
from cueillette.referrals import graph, queries, services
from cueillette.referrals.models import Referral, ReferralStatus

SYSTEM = Actor.system("property")


def reference_reach(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Replay the referrals oldest first with plain Python, then breadth-first counts."""
    parent: dict[int, int] = {}
    named: set[int] = set()  # a friend's first (non-self) referral is their only candidate
    for a, b in edges:
        if a == b or b in named:
            continue
        named.add(b)
        up, loop = a, False
        while up in parent or up == b:
            if up == b:
                loop = True
                break
            up = parent[up]
        if not loop:
            parent[b] = a
    children: dict[int, list[int]] = {}
    for child, p in parent.items():
        children.setdefault(p, []).append(child)
    out = []
    for root in range(n):
        seen, queue = {root}, deque([root])
        while queue:
            for c in children.get(queue.popleft(), []):
                if c not in seen:
                    seen.add(c)
                    queue.append(c)
        out.append(len(seen) - 1)
    return out


pairs = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=40)


@given(pairs)
@settings(max_examples=200, deadline=None)
def test_graph_reach_equals_bfs(edges: list[tuple[int, int]]) -> None:
    forest = graph.build_forest(8, [a for a, _ in edges], [b for _, b in edges])
    assert graph.total_reach(forest).tolist() == reference_reach(8, edges)
    assert int(graph.direct_counts(forest).sum()) == int((forest.parent >= 0).sum())
    assert np.all(forest.depth[forest.parent < 0] == 0)


ops = st.lists(
    st.one_of(
        st.tuples(st.just("refer"), st.integers(0, 5), st.integers(0, 5)),
        st.tuples(st.just("buy"), st.integers(0, 5), st.integers(0, 40)),
        st.tuples(st.just("refund"), st.integers(0, 5), st.integers(0, 1)),
        st.tuples(st.just("accept"), st.integers(0, 5), st.integers(0, 1)),
        st.tuples(st.just("confirm"), st.integers(0, 5), st.integers(0, 1)),
    ),
    min_size=1,
    max_size=25,
)


@given(ops)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_random_referrals_rewarded_at_most_once(
    tenant: Any, ops: list[tuple[str, int, int]]
) -> None:
    with transaction.atomic():
        program = services.get_program()
        program.min_amount = 10
        program.monthly_cap = 4
        program.burst_count = 4
        program.save()
        loyalty.get_program()
        people = [CustomerFactory(organization=tenant) for _i in range(6)]
        cards = {c.pk: loyalty.join_program(c, actor=SYSTEM) for c in people[:5]}  # one without
        start = timezone.now() - dt.timedelta(hours=1)
        for step, (op, x, y) in enumerate(ops):
            at = start + dt.timedelta(seconds=step)
            try:
                if op == "refer":
                    services.record_referral(
                        people[x], people[y], source="counter", actor=SYSTEM, now=at
                    )
                elif op == "buy" and people[x].pk in cards:
                    loyalty.record_purchase(cards[people[x].pk], amount=y, actor=SYSTEM)
                elif op == "refund":
                    p = Purchase.objects.filter(card__customer=people[x]).order_by("id").first()
                    if p is not None:
                        loyalty.refund_purchase(p, amount=None if y else "1", actor=SYSTEM)
                elif op in ("accept", "confirm"):
                    r = Referral.objects.filter(friend=people[x]).order_by("-id").first()
                    if r is not None and op == "accept":
                        services.review(r, accept=bool(y), reason="why", actor=SYSTEM)
                    elif r is not None:
                        from cueillette.referrals import rewards

                        rewards.confirm_manually(r, reason="cash", actor=SYSTEM)
            except ServiceError:
                pass
        # No referral rewarded twice; every reward linked to its referral.
        for r in Referral.objects.all():
            entries = PointsEntry.objects.filter(kind=EntryKind.REFERRAL, cause=f"referrals:{r.pk}")
            per_card = list(entries.values_list("card_id", flat=True))
            assert len(per_card) == len(set(per_card)) <= 2
            linked = {e for e in (r.referrer_entry_id, r.friend_entry_id) if e}
            assert set(entries.values_list("pk", flat=True)) == linked
            if r.status != ReferralStatus.CONFIRMED and r.reversed_at is None:
                assert not linked
        for card in Card.objects.all():
            total = sum(PointsEntry.objects.filter(card=card).values_list("points", flat=True))
            assert card.balance == total >= 0
        # Reach shown == reference BFS over the live referrals, oldest first.
        ids = [c.pk for c in people]
        live = Referral.objects.filter(status__in=queries.LIVE).order_by("created_at", "id")
        edges = [(ids.index(r.referrer_id), ids.index(r.friend_id)) for r in live]
        shown = queries.reach_by_customer()
        expected = reference_reach(len(ids), edges)
        assert [shown.get(pk, (0, 0))[1] for pk in ids] == expected
        transaction.set_rollback(True)
