"""Property: whatever happens to a card, the ledger tells the truth.

Hypothesis drives random sequences of operations on one card — purchases (with time moving
on), partial and full refunds (including refunds of already partly refunded purchases),
redemptions, adjustments, undo, expiry runs exactly at (and just before) batch boundaries,
monthly tier reviews — and after EVERY step checks:

* the cached balance equals the sum of the ledger entries, and is never negative;
* the rules' replay of the ledger (FIFO batches) gives the same balance;
* refunds never credit (their entries are debits, the balance never rises on a refund);
* no purchase is refunded beyond its amount, nor more points taken back than it earned;
* an expiry is never recorded before its batch's expiry instant;
* a refused operation writes nothing.

Each example runs in a savepoint that is rolled back, with ``timezone.now`` under its control.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.tests.factories import CustomerFactory
from cueillette.loyalty import services
from cueillette.loyalty.models import Card, EntryKind, PointsEntry, Purchase, Reward, Tier

START = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Op:
    name: str
    a: int = 0
    b: int = 0


purchase = st.builds(Op, st.just("purchase"), st.integers(0, 60_000), st.integers(0, 3))
refund = st.builds(Op, st.just("refund"), st.integers(0, 50), st.integers(0, 100))
redeem = st.builds(Op, st.just("redeem"), st.integers(0, 2))
ops = st.one_of(
    purchase,
    purchase,
    refund,
    refund,
    redeem,
    redeem,
    st.builds(Op, st.just("adjust"), st.integers(-80, 150)),
    st.builds(Op, st.just("undo")),
    st.builds(Op, st.just("expire"), st.integers(0, 50), st.sampled_from([-1, 0, 1])),
    st.builds(Op, st.just("review"), st.integers(0, 2)),
    st.builds(Op, st.just("wait"), st.integers(1, 120)),
)
# Start with a sale so that refunds and redemptions have something to work on.
sequences = st.tuples(purchase, st.lists(ops, min_size=3, max_size=30)).map(lambda t: [t[0], *t[1]])


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def move_to(self, when: dt.datetime) -> None:
        self.now = max(self.now, when)


def snapshot(card: Card) -> tuple[int, int, list[Any]]:
    return (
        Card.objects.get(pk=card.pk).balance,
        PointsEntry.objects.filter(card=card).count(),
        list(Purchase.objects.order_by("pk").values_list("refunded_amount", "points_taken_back")),
    )


def check_invariants(card: Card) -> int:
    fresh = Card.objects.get(pk=card.pk)
    entries = list(PointsEntry.objects.filter(card=card).order_by("id"))
    assert fresh.balance == sum(e.points for e in entries)
    assert fresh.balance >= 0
    assert services.replay(fresh, entries).balance == fresh.balance
    by_id = {e.pk: e for e in entries}
    for e in entries:
        if e.kind == EntryKind.REFUND:
            assert e.points < 0 and e.refund_id is not None
        if e.kind == EntryKind.EXPIRY:
            batch = by_id[e.corrects_id]  # type: ignore[index]
            assert batch.expires_at is not None and e.occurred_at >= batch.expires_at
    for p in Purchase.objects.all():
        assert Decimal(0) <= p.refunded_amount <= p.amount
        assert 0 <= p.points_taken_back <= p.points
        refunded = -sum(e.points for e in entries if e.refund_id and e.purchase_id == p.pk)
        assert refunded <= p.points_taken_back
    return fresh.balance


def apply(op: Op, card: Card, clock: Clock, staff: Actor, rewards: list[Reward]) -> None:
    if op.name == "purchase":
        clock.move_to(clock.now + dt.timedelta(hours=op.b * 7))
        amount = Decimal(op.a) / 100
        receipt = f"R{Purchase.objects.count()}-{op.a}"
        services.record_purchase(card, amount=amount, actor=staff, receipt_id=receipt)
    elif op.name == "refund":
        purchases = list(Purchase.objects.order_by("pk"))
        if not purchases:
            return
        purchase = purchases[op.a % len(purchases)]
        remaining = purchase.amount - purchase.refunded_amount
        before = Card.objects.get(pk=card.pk).balance
        if op.b == 100 or remaining <= 0:
            amount: Any = None
        else:
            amount = max(Decimal("0.01"), (remaining * op.b / 100).quantize(Decimal("0.01")))
        try:
            services.refund_purchase(purchase, amount=amount, actor=staff)
        finally:
            assert Card.objects.get(pk=card.pk).balance <= before, "a refund credited"
    elif op.name == "redeem":
        services.redeem(card, rewards[op.a], actor=staff)
    elif op.name == "adjust":
        services.adjust(card, op.a, reason="property test", actor=staff)
    elif op.name == "undo":
        services.undo_last(card, actor=staff)
    elif op.name == "expire":
        batches = list(
            PointsEntry.objects.filter(card=card, points__gt=0, expires_at__isnull=False)
            .order_by("id")
            .values_list("expires_at", flat=True)
        )
        if not batches:
            return
        boundary = batches[op.a % len(batches)] + dt.timedelta(microseconds=op.b)
        clock.move_to(boundary)
        services.expire_due(now=clock.now)
    elif op.name == "review":
        clock.move_to(clock.now + dt.timedelta(days=31 * op.a))
        services.review_tiers(now=clock.now)
    elif op.name == "wait":
        clock.move_to(clock.now + dt.timedelta(days=op.a))


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=sequences)
def test_ledger_never_lies(tenant: Any, owner: Any, sequence: list[Op]) -> None:
    staff = Actor.staff(owner, "owner")
    clock = Clock()
    with mock.patch.object(timezone, "now", clock), transaction.atomic():
        program = services.get_program()
        program.expiry_months = 2  # short, so sequences cross expiry boundaries
        program.points_per_visit = 1
        program.welcome_bonus = 40  # enough for a reward or two
        program.save()
        Tier.objects.create(code="silver", name="Argent", threshold=100, multiplier="1.5")
        Tier.objects.create(code="gold", name="Or", threshold=400, multiplier="2")
        rewards = [
            Reward.objects.create(name="Café", cost=10),
            Reward.objects.create(name="Panier", cost=35, stock=2),
            Reward.objects.create(name="Soirée", cost=50, min_tier="silver"),
        ]
        card = services.join_program(CustomerFactory(organization=tenant), actor=staff)
        check_invariants(card)
        for op in sequence:
            before = snapshot(card)
            try:
                with transaction.atomic():
                    apply(op, card, clock, staff, rewards)
                event(f"{op.name}: done")
            except ServiceError as exc:
                event(f"{op.name}: refused ({exc.code})")
                assert snapshot(card) == before, f"{op} was refused but wrote something"
            check_invariants(card)
        kinds = set(PointsEntry.objects.filter(card=card).values_list("kind", flat=True))
        for kind in sorted(kinds):
            event(f"ledger has {kind}")
        transaction.set_rollback(True)
