"""The loyalty services at their boundaries: expiry, birthday, tiers, caps, refunds, undo,
adjustments. Time is passed explicitly (``now=``, ``occurred_at=``) or, where a service reads
the clock, ``django.utils.timezone.now`` is replaced for the test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import AuditEvent
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer, Purpose
from cueillette.loyalty import services
from cueillette.loyalty.models import (
    Card,
    EntryKind,
    PointsEntry,
    Program,
    Purchase,
    Redemption,
    Reward,
    Tier,
)

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.fixture
def staff(owner: Any) -> Actor:
    return Actor.staff(owner, "owner")


@pytest.fixture
def program(tenant: Any) -> Program:
    program = services.get_program()
    program.expiry_months = 12
    program.save()
    return program


@pytest.fixture
def card(program: Program, customer: Customer, staff: Actor) -> Card:
    return services.join_program(customer, actor=staff)


def ledger_ok(card: Card) -> int:
    card.refresh_from_db()
    points = list(PointsEntry.objects.filter(card=card).values_list("points", flat=True))
    assert card.balance == sum(points) >= 0
    return card.balance


def entries(card: Card, kind: str) -> list[PointsEntry]:
    return list(PointsEntry.objects.filter(card=card, kind=kind).order_by("id"))


class Clock:
    """``timezone.now`` under the test's control."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: dt.datetime) -> None:
        self.now = start
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


# --------------------------------------------------------------------------- expiry


@pytest.mark.django_db
def test_points_expire_at_the_end_of_the_last_local_day(card: Card, staff: Actor) -> None:
    earned = paris(2025, 3, 15, 22, 30)
    services.record_purchase(card, amount="40", actor=staff, receipt_id="A", occurred_at=earned)
    [batch] = entries(card, EntryKind.PURCHASE)
    end = paris(2026, 3, 16, 0, 0)  # valid through 15 March 2026, Paris time
    assert batch.expires_at == end
    assert services.expire_due(now=end - dt.timedelta(microseconds=1)) == 0
    assert ledger_ok(card) == 40
    assert services.expire_due(now=end) == 40
    [expiry] = entries(card, EntryKind.EXPIRY)
    assert expiry.points == -40 and expiry.corrects_id == batch.pk and expiry.occurred_at == end
    assert ledger_ok(card) == 0
    # Running it again expires nothing more.
    assert services.expire_due(now=end + dt.timedelta(days=40)) == 0
    assert ledger_ok(card) == 0


@pytest.mark.django_db
def test_expiry_is_per_batch_first_earned_first_spent(
    card: Card, staff: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    Clock(monkeypatch, paris(2025, 12, 15, 12))
    old = paris(2025, 1, 10, 12)
    services.record_purchase(card, amount="30", actor=staff, receipt_id="old", occurred_at=old)
    recent = paris(2025, 12, 1, 12)
    services.record_purchase(card, amount="20", actor=staff, receipt_id="new", occurred_at=recent)
    # Spending 25 takes them from the oldest batch first: 5 of it remain to expire.
    services.adjust(card, -25, reason="test spend", actor=staff)
    assert services.expire_due(now=paris(2026, 1, 11, 0, 0)) == 5
    assert ledger_ok(card) == 20
    assert services.expire_due(now=paris(2026, 12, 1, 23, 59)) == 0
    assert services.expire_due(now=paris(2026, 12, 2, 0, 0)) == 20
    assert ledger_ok(card) == 0
    state = services.replay(card)
    assert state.balance == 0 and state.expired == 25


@pytest.mark.django_db
def test_program_without_expiry_never_expires(program: Program, card: Card, staff: Actor) -> None:
    program.expiry_months = None
    program.save()
    services.record_purchase(card, amount="10", actor=staff, receipt_id="A")
    assert entries(card, EntryKind.PURCHASE)[0].expires_at is None
    assert services.expire_due(now=timezone.now() + dt.timedelta(days=3650)) == 0


# --------------------------------------------------------------------------- birthday


@pytest.mark.django_db
def test_birthday_bonus_only_with_profiling_consent(
    program: Program, customer: Customer, card: Card, staff: Actor
) -> None:
    program.birthday_bonus = 50
    program.save()
    today = timezone.localdate(timezone.now(), PARIS)
    born = today.replace(year=1992)  # a leap year: 29 February works too
    Customer.objects.filter(pk=customer.pk).update(birthday=born)
    card.refresh_from_db()
    services.record_purchase(card, amount="10", actor=staff, receipt_id="no-consent")
    assert entries(card, EntryKind.BIRTHDAY) == []
    purchase = Purchase.objects.get(receipt_id="no-consent")
    skipped = [s for s in purchase.explanation if s["code"] == "birthday_skipped"]
    assert skipped and skipped[0]["params"]["reason"] == "no_consent"

    customer_services.record_consent(
        customer, Purpose.PROFILING, True, source="counter", actor=staff
    )
    services.record_purchase(card, amount="10", actor=staff, receipt_id="consent")
    [bonus] = entries(card, EntryKind.BIRTHDAY)
    assert bonus.points == 50 and bonus.birthday_year == today.year
    # Once per birthday.
    services.record_purchase(card, amount="10", actor=staff, receipt_id="again")
    assert len(entries(card, EntryKind.BIRTHDAY)) == 1
    assert ledger_ok(card) == 80


# --------------------------------------------------------------------------- tiers


@pytest.mark.django_db
def test_tier_upgrades_on_earn_and_downgrades_only_at_review(card: Card, staff: Actor) -> None:
    Tier.objects.create(code="silver", name="Argent", threshold=100, multiplier=Decimal("1.5"))
    Tier.objects.create(code="gold", name="Or", threshold=500, multiplier=Decimal(2))
    services.record_purchase(card, amount="99", actor=staff, receipt_id="A")
    card.refresh_from_db()
    assert card.tier_code == ""
    purchase = services.record_purchase(card, amount="1", actor=staff, receipt_id="B")
    card.refresh_from_db()
    assert card.tier_code == "silver"  # threshold reached exactly
    assert AuditEvent.objects.filter(action="loyalty.tier_changed").count() == 1
    # The tier multiplier applies from now on.
    assert services.record_purchase(card, amount="10", actor=staff, receipt_id="C").points == 15
    # A refund takes the points back but keeps the tier until the monthly review.
    services.refund_purchase(Purchase.objects.get(receipt_id="A"), amount=None, actor=staff)
    services.refund_purchase(purchase, amount=None, actor=staff)
    card.refresh_from_db()
    assert card.tier_code == "silver"
    assert services.review_tiers() == 1
    card.refresh_from_db()
    assert card.tier_code == "" and card.tier_reviewed_at is not None
    # Reviewed this month already: the next run leaves it alone.
    assert services.review_tiers() == 0
    ledger_ok(card)


@pytest.mark.django_db
def test_review_keeps_a_tier_still_reached(card: Card, staff: Actor) -> None:
    Tier.objects.create(code="silver", name="Argent", threshold=100)
    services.record_purchase(card, amount="150", actor=staff, receipt_id="A")
    assert services.review_tiers() == 0
    card.refresh_from_db()
    assert card.tier_code == "silver"
    # Points earned more than 12 months before the review do not count.
    next_year = timezone.now() + dt.timedelta(days=400)
    assert services.review_tiers(now=next_year) == 1
    card.refresh_from_db()
    assert card.tier_code == ""


# --------------------------------------------------------------------------- daily cap


@pytest.mark.django_db
def test_daily_cap_applies_per_local_day(program: Program, card: Card, staff: Actor) -> None:
    program.daily_cap = 30
    program.save()
    day = paris(2026, 6, 10, 9)

    def buy(receipt: str, at: dt.datetime) -> Purchase:
        return services.record_purchase(
            card, amount="25", actor=staff, receipt_id=receipt, occurred_at=at
        )

    assert buy("1", day).points == 25
    assert buy("2", day + dt.timedelta(hours=3)).points == 5
    third = buy("3", day + dt.timedelta(hours=14))  # 23:00 Paris, the same local day
    assert third.points == 0
    assert "daily_cap" in [s["code"] for s in third.explanation]
    assert buy("4", paris(2026, 6, 11, 0, 0)).points == 25  # a new local day
    assert ledger_ok(card) == 55
    assert len(entries(card, EntryKind.PURCHASE)) == 3  # no zero-point entry


# --------------------------------------------------------------------------- refunds


@pytest.mark.django_db
def test_refunds_of_refunds_until_full(card: Card, staff: Actor) -> None:
    purchase = services.record_purchase(card, amount="100", actor=staff, receipt_id="A")
    taken = []
    for amount in ("33.33", "33.33", "33.34"):
        before = ledger_ok(card)
        refund = services.refund_purchase(purchase, amount=amount, actor=staff)
        assert ledger_ok(card) <= before  # never credits
        taken.append(refund.points)
    assert taken == [34, 33, 33] and sum(taken) == 100
    assert ledger_ok(card) == 0
    purchase.refresh_from_db()
    assert purchase.refunded_amount == purchase.amount
    assert purchase.points_taken_back == purchase.points
    with pytest.raises(ServiceError) as err:
        services.refund_purchase(purchase, amount="0.01", actor=staff)
    assert err.value.code == "refund_exceeds_purchase" and err.value.field == "amount"
    refund_entries = entries(card, EntryKind.REFUND)
    assert len(refund_entries) == 3
    assert all(e.points < 0 and e.purchase_id == purchase.pk for e in refund_entries)


@pytest.mark.django_db
def test_refund_of_spent_points_takes_what_remains(card: Card, staff: Actor) -> None:
    purchase = services.record_purchase(card, amount="50", actor=staff, receipt_id="A")
    services.redeem(card, Reward.objects.create(name="Café", cost=40), actor=staff)
    refund = services.refund_purchase(purchase, amount=None, actor=staff)
    assert refund.points == 50
    assert ledger_ok(card) == 0
    event = AuditEvent.objects.get(action="loyalty.refund")
    assert event.data["points"] == 10 and event.data["shortfall"] == 40


# --------------------------------------------------------------------------- undo


@pytest.mark.django_db
def test_undo_own_last_operation_within_five_minutes(
    card: Card, staff: Actor, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch, timezone.now())
    services.record_purchase(card, amount="30", actor=staff, receipt_id="A")
    clock.advance(minutes=4, seconds=59)
    other = Actor.staff(manager, "manager")
    assert services.last_undoable(card, other) is None  # not theirs
    with pytest.raises(ServiceError) as err:
        services.undo_last(card, actor=other)
    assert err.value.code == "nothing_to_undo"
    correction = services.undo_last(card, actor=staff)
    assert correction.kind == EntryKind.CORRECTION and correction.points == -30
    assert ledger_ok(card) == 0
    # Undone already: nothing left to undo.
    assert services.last_undoable(card, staff) is None


@pytest.mark.django_db
def test_undo_is_refused_after_five_minutes(
    card: Card, staff: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch, timezone.now())
    services.record_purchase(card, amount="30", actor=staff, receipt_id="A")
    clock.advance(minutes=5, seconds=1)
    before = PointsEntry.objects.count()
    with pytest.raises(ServiceError) as err:
        services.undo_last(card, actor=staff)
    assert err.value.code == "nothing_to_undo"
    assert PointsEntry.objects.count() == before and ledger_ok(card) == 30


@pytest.mark.django_db
def test_undo_a_redemption_gives_back_points_and_stock(
    card: Card, staff: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch, timezone.now())
    services.record_purchase(card, amount="30", actor=staff, receipt_id="A")
    reward = Reward.objects.create(name="Café", cost=20, stock=1)
    services.redeem(card, reward, actor=staff)
    clock.advance(minutes=2)
    correction = services.undo_last(card, actor=staff)
    assert correction.points == 20 and correction.expires_at is not None
    reward.refresh_from_db()
    assert reward.stock == 1
    assert Redemption.objects.get().cancelled_at == clock.now
    assert ledger_ok(card) == 30
    assert AuditEvent.objects.filter(action="loyalty.undone").count() == 1


# --------------------------------------------------------------------------- adjustments


@pytest.mark.django_db
def test_adjustments_need_a_reason_and_are_audited(card: Card, staff: Actor) -> None:
    for reason in ("", "   "):
        with pytest.raises(ServiceError) as err:
            services.adjust(card, 10, reason=reason, actor=staff)
        assert err.value.code == "reason_required" and err.value.field == "reason"
    with pytest.raises(ServiceError) as err:
        services.adjust(card, 0, reason="nothing", actor=staff)
    assert err.value.field == "points"
    with pytest.raises(ServiceError) as err:
        services.adjust(card, -1, reason="too much", actor=staff)
    assert err.value.code == "insufficient_points"
    assert PointsEntry.objects.filter(kind=EntryKind.ADJUSTMENT).count() == 0
    assert not AuditEvent.objects.filter(action="loyalty.adjusted").exists()

    entry = services.adjust(card, 12, reason="Geste commercial", actor=staff)
    assert entry.kind == EntryKind.ADJUSTMENT and entry.reason == "Geste commercial"
    assert entry.expires_at is not None and entry.actor_user == staff.user
    services.adjust(card, -2, reason="Erreur de saisie", actor=staff)
    events = AuditEvent.objects.filter(action="loyalty.adjusted").order_by("id")
    assert [(e.data["points"], e.data["reason"]) for e in events] == [
        (12, "Geste commercial"),
        (-2, "Erreur de saisie"),
    ]
    assert all(e.actor_user == staff.user for e in events)
    assert ledger_ok(card) == 10


@pytest.mark.django_db
def test_the_ledger_refuses_edits(card: Card, staff: Actor) -> None:
    entry = services.adjust(card, 5, reason="test", actor=staff)
    entry.points = 500
    with pytest.raises(ValueError, match="only appends"):
        entry.save()
    with pytest.raises(ValueError, match="only appends"):
        entry.delete()


@pytest.mark.django_db
def test_leaving_closes_the_card_and_refuses_new_points(card: Card, staff: Actor) -> None:
    services.record_purchase(card, amount="10", actor=staff, receipt_id="A")
    card = services.leave_program(card, actor=staff)
    with pytest.raises(ServiceError) as err:
        services.record_purchase(card, amount="10", actor=staff, receipt_id="B")
    assert err.value.code == "card_closed"
    assert ledger_ok(card) == 10
    # Joining again gives a new card; the old history stays.
    new = services.join_program(card.customer, actor=staff)
    assert new.pk != card.pk and Card.objects.filter(customer_id=card.customer_id).count() == 2
