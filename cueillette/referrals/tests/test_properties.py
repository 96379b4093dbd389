"""Properties over random referral graphs (cycles, duplicates, self-referrals included):

* the reach the application shows equals a reference breadth-first count over the referrals
  it counts (first referrer of a friend wins, a link closing a loop is dropped);
* no referral is ever rewarded twice, whatever the purchases, refunds, counter undos and
  reviews: an undo takes the reward back and a later purchase grants it again, so each side
  holds at most one live reward (grant, take-back, grant);
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
from cueillette.core.models import AuditEvent
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
        st.tuples(st.just("undo"), st.integers(0, 5), st.integers(0, 1)),
        # A sale undone at once at the counter (the typo fix of the QA report).
        st.tuples(st.just("buy_undo"), st.integers(0, 5), st.integers(0, 40)),
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
                elif op == "undo" and people[x].pk in cards:
                    loyalty.undo_last(cards[people[x].pk], actor=SYSTEM)
                elif op == "buy_undo" and people[x].pk in cards:
                    loyalty.record_purchase(cards[people[x].pk], amount=y, actor=SYSTEM)
                    loyalty.undo_last(cards[people[x].pk], actor=SYSTEM)
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
        # No referral rewarded twice; every reward linked to its referral, or taken back by
        # an undo (and then no longer linked).
        for r in Referral.objects.all():
            entries = PointsEntry.objects.filter(kind=EntryKind.REFERRAL, cause=f"referrals:{r.pk}")
            undone: set[int] = set()
            for event in AuditEvent.objects.filter(
                action="referrals.undone", object_type="referral", object_id=str(r.pk)
            ):
                undone |= {int(pk) for pk in event.data["taken_back"]}
            live = entries.exclude(pk__in=undone)
            per_card = list(live.values_list("card_id", flat=True))
            assert len(per_card) == len(set(per_card)) <= 2
            linked = {e for e in (r.referrer_entry_id, r.friend_entry_id) if e}
            assert set(live.values_list("pk", flat=True)) == linked
            assert set(entries.values_list("pk", flat=True)) == linked | undone
            assert not linked & undone
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


undo_ops = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(0, 30), st.booleans()),  # True: undone at once
        st.tuples(st.just("undo"), st.just(0), st.just(False)),
        st.tuples(st.just("refund"), st.integers(0, 1), st.just(False)),
        st.tuples(st.just("spend"), st.integers(1, 120), st.just(False)),
    ),
    min_size=1,
    max_size=15,
)


@given(undo_ops)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_undo_sequences_keep_at_most_one_live_reward(
    tenant: Any, ops: list[tuple[str, int, bool]]
) -> None:
    """One referral, the friend's purchases undone, refunded and bought again in any order:
    each side holds at most one live reward, and exactly one while the referral is confirmed
    (and its reward was granted); an undone reward is always taken back."""
    from cueillette.loyalty.models import Reward

    with transaction.atomic():
        program = services.get_program()
        program.min_amount = 10
        program.monthly_cap = None
        program.save()
        loyalty.get_program()
        referrer, friend = (CustomerFactory(organization=tenant) for _i in range(2))
        r_card = loyalty.join_program(referrer, actor=SYSTEM)
        f_card = loyalty.join_program(friend, actor=SYSTEM)
        referral = services.record_referral(referrer, friend, source="counter", actor=SYSTEM)
        gift = Reward.objects.create(name="Gift", cost=1)
        for op, n, undo_at_once in ops:
            try:
                if op == "buy":
                    loyalty.record_purchase(f_card, amount=n, actor=SYSTEM)
                    if undo_at_once:
                        loyalty.undo_last(f_card, actor=SYSTEM)
                elif op == "undo":
                    loyalty.undo_last(f_card, actor=SYSTEM)
                elif op == "refund":
                    p = Purchase.objects.filter(card=f_card).order_by("-id").first()
                    if p is not None:
                        loyalty.refund_purchase(p, amount=None if n else "1", actor=SYSTEM)
                elif op == "spend":
                    Reward.objects.filter(pk=gift.pk).update(cost=n)
                    gift.refresh_from_db()
                    loyalty.redeem(r_card, gift, actor=SYSTEM)
            except ServiceError:
                pass
        referral.refresh_from_db()
        undone: set[int] = set()
        for event in AuditEvent.objects.filter(
            action="referrals.undone", object_id=str(referral.pk)
        ):
            undone |= {int(pk) for pk in event.data["taken_back"]}
        grants = PointsEntry.objects.filter(
            kind=EntryKind.REFERRAL, cause=f"referrals:{referral.pk}"
        )
        slots = ((r_card, referral.referrer_entry_id), (f_card, referral.friend_entry_id))
        for card, slot in slots:
            live = list(
                grants.filter(card=card).exclude(pk__in=undone).values_list("pk", flat=True)
            )
            assert live == ([slot] if slot else [])
            if referral.status == ReferralStatus.CONFIRMED and referral.rewarded_at:
                assert slot is not None
            if referral.status == ReferralStatus.PENDING:
                assert slot is None
        # Every undone reward was taken back as far as the card held points.
        for pk in undone:
            entry = PointsEntry.objects.get(pk=pk)
            taken = -sum(entry.corrections.values_list("points", flat=True))
            assert 0 <= taken <= entry.points
        for card in (r_card, f_card):
            card.refresh_from_db()
            total = sum(PointsEntry.objects.filter(card=card).values_list("points", flat=True))
            assert card.balance == total >= 0
        transaction.set_rollback(True)
