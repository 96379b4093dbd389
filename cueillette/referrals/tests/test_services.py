"""Referral services: codes, abuse rules, rewards once, cap, refunds, review deadline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone, translation

from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer
from cueillette.loyalty import services as loyalty
from cueillette.loyalty.models import Card, EntryKind, PointsEntry
from cueillette.referrals import rewards, services
from cueillette.referrals.models import Flag, Reason, Referral, ReferralProgram, ReferralStatus
from cueillette.referrals.tests.conftest import member

Member = tuple[Customer, Card]


@pytest.fixture(autouse=True)
def _english() -> Any:
    """Reasons are written in the active language; these tests read them in English."""
    with translation.override("en"):
        yield


def balance(card: Card) -> int:
    card.refresh_from_db()
    assert card.balance == sum(
        PointsEntry.objects.filter(card=card).values_list("points", flat=True)
    )
    return card.balance


# --------------------------------------------------------------------------- codes


def test_code_is_lazy_stable_and_found_by_code_or_token(tenant: Any, alice: Member) -> None:
    customer, _card = alice
    rc = services.code_for(customer)
    assert services.code_for(customer).pk == rc.pk
    assert len(rc.code) == 8 and set(rc.code) <= set(services.CODE_ALPHABET)
    assert len(rc.token) >= 32  # 192 bits
    assert customer.first_name.lower() not in rc.token.lower()
    spaced = f" {rc.code[:4].lower()}-{rc.code[4:].lower()} "
    assert services.find_code(spaced).pk == rc.pk
    assert services.find_code(rc.token).pk == rc.pk
    with pytest.raises(ServiceError) as err:
        services.find_code("ZZZZZZZZ")
    assert err.value.code == "unknown_referral_code" and err.value.field == "code"
    assert err.value.status == 404


# --------------------------------------------------------------------------- abuse


def test_self_referral_refused_nothing_written(
    org: Any, tenant: Any, staff: Actor, alice: Member, program: ReferralProgram
) -> None:
    a, _ = alice
    twin = CustomerFactory(organization=org, email=a.email)
    same_phone = CustomerFactory(organization=org, phone=a.phone)
    for friend in (a, twin, same_phone):
        with pytest.raises(ServiceError) as err:
            services.record_referral(a, friend, source="code", actor=staff)
        assert err.value.code == "self_referral" and err.value.field == "friend"
    assert Referral.objects.count() == 0


def test_merged_record_is_the_same_person(
    org: Any, tenant: Any, staff: Actor, alice: Member
) -> None:
    a, _ = alice
    other = CustomerFactory(organization=org)
    customer_services.merge_customers(a, other, actor=staff)
    other.refresh_from_db()
    with pytest.raises(ServiceError) as err:
        services.record_referral(other, a, source="counter", actor=staff)
    assert err.value.code == "self_referral"


def test_clean_referral_is_pending_without_flags(
    org: Any, tenant: Any, staff: Actor, alice: Member, bob: Member
) -> None:
    r = services.record_referral(alice[0], bob[0], source="link", actor=staff)
    assert r.status == ReferralStatus.PENDING and r.flags == [] and not r.under_review
    assert r.reason_code == Reason.AWAITING_PURCHASE
    # The same pair again: the same referral (idempotent).
    assert services.record_referral(alice[0], bob[0], source="link", actor=staff).pk == r.pk
    third, _ = member(org, staff)
    with pytest.raises(ServiceError) as err:
        services.record_referral(third, bob[0], source="code", actor=staff)
    assert err.value.code == "already_referred" and err.value.status == 409
    assert Referral.objects.count() == 1


def test_loop_is_flagged(org: Any, tenant: Any, staff: Actor, alice: Member, bob: Member) -> None:
    c, _ = member(org, staff)
    services.record_referral(alice[0], bob[0], source="code", actor=staff)
    services.record_referral(bob[0], c, source="code", actor=staff)
    loop = services.record_referral(c, alice[0], source="code", actor=staff)
    assert Flag.LOOP in loop.flags and loop.under_review
    assert loop.review_deadline is not None


def test_burst_is_flagged(
    org: Any, tenant: Any, staff: Actor, alice: Member, program: ReferralProgram
) -> None:
    program.burst_count = 3
    program.save()
    made = [
        services.record_referral(alice[0], member(org, staff)[0], source="link", actor=staff)
        for _i in range(4)
    ]
    # "More than 3 within 24 hours", this one included: the 4th is flagged, not the 3rd.
    assert [Flag.BURST in r.flags for r in made] == [False, False, False, True]


def test_existing_customer_and_duplicate_record_flagged(
    org: Any, tenant: Any, staff: Actor, alice: Member, bob: Member
) -> None:
    loyalty.record_purchase(bob[1], amount="20", actor=staff)
    r = services.record_referral(alice[0], bob[0], source="counter", actor=staff)
    assert Flag.EXISTING in r.flags
    old = CustomerFactory(organization=org)
    Customer.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=40))
    old.refresh_from_db()
    assert (
        Flag.EXISTING in services.record_referral(alice[0], old, source="code", actor=staff).flags
    )
    friend = CustomerFactory(organization=org)
    CustomerFactory(organization=org, email=friend.email, phone="")
    dup = services.record_referral(alice[0], friend, source="code", actor=staff)
    assert Flag.DUPLICATE in dup.flags


# --------------------------------------------------------------------------- rewards


def test_first_qualifying_purchase_rewards_both_once(
    tenant: Any, staff: Actor, alice: Member, bob: Member
) -> None:
    a, a_card = alice
    b, b_card = bob
    r = services.record_referral(a, b, source="link", actor=staff)
    loyalty.record_purchase(b_card, amount="5", actor=staff)  # below the 10 minimum
    r.refresh_from_db()
    assert r.status == ReferralStatus.PENDING
    p = loyalty.record_purchase(b_card, amount="12", actor=staff)
    r.refresh_from_db()
    assert r.status == ReferralStatus.CONFIRMED and r.reason_code == Reason.FIRST_PURCHASE
    assert r.confirming_purchase_id == p.pk
    assert r.referrer_entry is not None and r.referrer_entry.card_id == a_card.pk
    assert r.referrer_entry.kind == EntryKind.REFERRAL and r.referrer_entry.points == 100
    assert r.referrer_entry.purchase_id == p.pk and r.referrer_entry.cause == f"referrals:{r.pk}"
    assert r.friend_entry is not None and r.friend_entry.points == 50
    assert balance(a_card) == 100
    assert balance(b_card) == 5 + 12 + 50
    loyalty.record_purchase(b_card, amount="30", actor=staff)
    rewards.confirm(r, actor=staff, now=timezone.now(), reason_code=Reason.FIRST_PURCHASE)
    assert PointsEntry.objects.filter(kind=EntryKind.REFERRAL).count() == 2
    assert balance(a_card) == 100


def test_monthly_cap(
    org: Any, tenant: Any, staff: Actor, alice: Member, program: ReferralProgram
) -> None:
    a, a_card = alice
    program.monthly_cap = 2
    program.save()
    results = []
    for _i in range(3):
        friend, f_card = member(org, staff)
        r = services.record_referral(a, friend, source="code", actor=staff)
        loyalty.record_purchase(f_card, amount="15", actor=staff)
        r.refresh_from_db()
        results.append(r)
    assert all(r.status == ReferralStatus.CONFIRMED for r in results)
    assert [r.referrer_entry_id is not None for r in results] == [True, True, False]
    with translation.override("en"):
        assert "cap of 2 rewarded referrals" in results[2].reward_note_text()
    assert results[2].friend_entry_id is not None
    assert balance(a_card) == 200


def test_friend_without_card_only_referrer_rewarded(
    org: Any, tenant: Any, staff: Actor, alice: Member
) -> None:
    a, a_card = alice
    friend = CustomerFactory(organization=org)
    r = services.record_referral(a, friend, source="counter", actor=staff)
    r = rewards.confirm_manually(r, reason="paid cash, no card", actor=staff)
    assert r.status == ReferralStatus.CONFIRMED
    assert r.referrer_entry_id is not None and r.friend_entry_id is None
    with translation.override("en"):
        assert "friend not rewarded" in r.reward_note_text()
    assert balance(a_card) == 100


def test_full_refund_reverses_both(tenant: Any, staff: Actor, alice: Member, bob: Member) -> None:
    a, a_card = alice
    b, b_card = bob
    r = services.record_referral(a, b, source="link", actor=staff)
    p = loyalty.record_purchase(b_card, amount="20", actor=staff)
    loyalty.refund_purchase(p, amount="5", actor=staff)  # 15 left >= 10: kept
    r.refresh_from_db()
    assert r.status == ReferralStatus.CONFIRMED
    loyalty.refund_purchase(p, amount=None, actor=staff)
    r.refresh_from_db()
    assert r.status == ReferralStatus.REJECTED and r.reason_code == Reason.REFUNDED
    assert (
        r.referrer_reversal is not None and r.referrer_reversal.corrects_id == r.referrer_entry_id
    )
    assert r.friend_reversal is not None and r.friend_reversal.corrects_id == r.friend_entry_id
    assert balance(a_card) == 0
    assert balance(b_card) == 0
    assert r.reversal_shortfall == 0


def test_refund_after_points_spent_records_shortfall(
    org: Any, tenant: Any, staff: Actor, alice: Member, bob: Member
) -> None:
    from cueillette.loyalty.models import Reward

    a, a_card = alice
    b, b_card = bob
    r = services.record_referral(a, b, source="link", actor=staff)
    p = loyalty.record_purchase(b_card, amount="20", actor=staff)
    reward = Reward.objects.create(name="Tisane", cost=80)
    loyalty.redeem(a_card, reward, actor=staff)
    assert balance(a_card) == 20
    loyalty.refund_purchase(p, amount=None, actor=staff)
    r.refresh_from_db()
    assert r.status == ReferralStatus.REJECTED
    assert r.referrer_reversal is not None and r.referrer_reversal.points == -20
    assert r.reversal_shortfall == 80
    assert balance(a_card) == 0


# --------------------------------------------------------------------------- review


def test_flagged_waits_for_review_then_rewards(
    org: Any, tenant: Any, staff: Actor, alice: Member, bob: Member
) -> None:
    a, a_card = alice
    b, b_card = bob
    loyalty.record_purchase(b_card, amount="3", actor=staff)  # existing customer
    r = services.record_referral(a, b, source="counter", actor=staff)
    assert r.under_review
    loyalty.record_purchase(b_card, amount="40", actor=staff)
    r.refresh_from_db()
    assert r.status == ReferralStatus.PENDING and r.confirming_purchase_id is not None
    assert balance(a_card) == 0
    with pytest.raises(ServiceError) as err:
        services.review(r, accept=False, reason="", actor=staff)
    assert err.value.code == "reason_required"
    r = services.review(r, accept=True, reason="she really sent him", actor=staff)
    assert r.status == ReferralStatus.CONFIRMED and balance(a_card) == 100
    with pytest.raises(ServiceError):
        services.review(r, accept=False, reason="x", actor=staff)


def test_review_reject(org: Any, tenant: Any, staff: Actor, alice: Member, bob: Member) -> None:
    loyalty.record_purchase(bob[1], amount="3", actor=staff)
    r = services.record_referral(alice[0], bob[0], source="counter", actor=staff)
    r = services.review(r, accept=False, reason="already a regular", actor=staff)
    assert r.status == ReferralStatus.REJECTED and r.reason_text == "already a regular"
    assert r.decided_by_id == staff.user.pk  # type: ignore[union-attr]


@pytest.mark.parametrize("default", ["confirm", "reject"])
def test_deadline_default(
    org: Any,
    tenant: Any,
    staff: Actor,
    alice: Member,
    bob: Member,
    program: ReferralProgram,
    default: str,
) -> None:
    from cueillette.referrals import tasks

    program.default_action = default
    program.save()
    loyalty.record_purchase(bob[1], amount="3", actor=staff)
    r = services.record_referral(alice[0], bob[0], source="counter", actor=staff)
    assert services.apply_review_defaults(timezone.now()) == 0
    later = timezone.now() + dt.timedelta(days=program.review_days, minutes=1)
    assert tasks.run_daily(org, later) == {"review_defaults": 1}
    r.refresh_from_db()
    assert not r.under_review
    if default == "confirm":
        assert r.status == ReferralStatus.PENDING and r.reason_code == Reason.AWAITING_PURCHASE
    else:
        assert r.status == ReferralStatus.REJECTED and r.reason_code == Reason.DEADLINE_REJECTED
