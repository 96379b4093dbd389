"""Referrals among the demo customers (called by ``manage.py load_demo`` after loyalty).

The acupuncturist's story: one delighted patient sent seven people, one of whom sent two
more; a few other members sent a friend or two; one referral waits for review (the friend
was already a patient) and one was rejected. Rewards go through the loyalty services, dated
at the friend's first qualifying purchase, so balances stay equal to the ledger.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.customers.models import Customer
from cueillette.loyalty import services as loyalty
from cueillette.loyalty.models import Card, Purchase
from cueillette.referrals.models import (
    Flag,
    Reason,
    Referral,
    ReferralProgram,
    ReferralSource,
    ReferralStatus,
)

SOURCES = [ReferralSource.COUNTER, ReferralSource.LINK, ReferralSource.CODE]


def _first_qualifying(customer: Customer, after: dt.datetime, minimum: int) -> Purchase | None:
    # By card ids first: the (organization, card, occurred_at) index answers it at once, where
    # a join on the card's customer let PostgreSQL (fresh tables, no statistics) scan them all.
    cards = list(Card.objects.filter(customer=customer).values_list("pk", flat=True))
    if not cards:
        return None
    return (
        Purchase.objects.filter(
            card_id__in=cards, occurred_at__gte=after, amount__gte=max(minimum, 0.01)
        )
        .order_by("occurred_at", "id")
        .first()
    )


def _refer(
    referrer: Customer,
    friend: Customer,
    program: ReferralProgram,
    rng: random.Random,
    now: dt.datetime,
) -> Referral:
    at = friend.created_at
    referral = Referral.objects.create(
        referrer=referrer,
        friend=friend,
        source=rng.choice(SOURCES),
        status=ReferralStatus.PENDING,
        reason_code=Reason.AWAITING_PURCHASE,
        created_at=at,
    )
    purchase = _first_qualifying(friend, at, int(program.min_amount))
    if purchase is None:
        return referral
    actor = Actor.system("demo")
    fields: dict[str, Any] = {
        "status": ReferralStatus.CONFIRMED,
        "reason_code": Reason.FIRST_PURCHASE,
        "confirming_purchase": purchase,
        "rewarded_at": purchase.occurred_at,
        "decided_at": purchase.occurred_at,
    }
    cause = f"referrals:{referral.pk}"
    for who, points, slot, reason in (
        (referrer, program.referrer_points, "referrer_entry", "Parrainage : un proche est venu"),
        (friend, program.friend_points, "friend_entry", "Parrainage : bienvenue"),
    ):
        card = loyalty.open_card_for(who)
        if card is not None and points:
            fields[slot] = loyalty.credit_referral(
                card,
                points,
                occurred_at=min(purchase.occurred_at, now),
                actor=actor,
                purchase=purchase,
                reason=reason,
                cause=cause,
            )
    for k, v in fields.items():
        setattr(referral, k, v)
    referral.save()
    return referral


def load(
    org: Organization, customers: list[dict[str, Any]], rng: random.Random, now: dt.datetime
) -> None:
    program = ReferralProgram.objects.create(
        organization=org,
        referrer_points=100 if org.slug == "cabinet-martin" else 50,
        friend_points=50 if org.slug == "cabinet-martin" else 25,
        min_amount=20 if org.slug == "cabinet-martin" else 10,
        monthly_cap=None,
    )
    people = list(
        Customer.objects.filter(pk__in=[c["id"] for c in customers]).order_by("created_at")
    )
    if len(people) < 30:
        return
    with_card = [c for c in people if loyalty.open_card_for(c) is not None]
    if not with_card:
        return
    star = with_card[len(with_card) // 5]  # joined early enough to have sent many
    later = [c for c in people if c.created_at > star.created_at and c.pk != star.pk]
    rng.shuffle(later)
    friends = later[:7]
    used = {star.pk, *(f.pk for f in friends)}
    for friend in sorted(friends, key=lambda c: c.created_at):
        _refer(star, friend, program, rng, now)
    # One of the star's friends sent two more people (friends of friends).
    relay = min(friends, key=lambda c: c.created_at)
    more = [c for c in later[7:] if c.created_at > relay.created_at][:2]
    for friend in more:
        _refer(relay, friend, program, rng, now)
        used.add(friend.pk)
    # A few members sent one or two friends.
    rest = [c for c in people if c.pk not in used]
    for referrer in rest[:6]:
        candidates = [c for c in rest if c.created_at > referrer.created_at and c.pk not in used]
        for friend in candidates[: rng.randint(1, 2)]:
            _refer(referrer, friend, program, rng, now)
            used.update({friend.pk, referrer.pk})
    leftovers = [c for c in people if c.pk not in used]
    if len(leftovers) >= 4:
        a, b, c, d = leftovers[-4:]
        # Flagged: the friend was already a patient; waits for the manager's review.
        Referral.objects.create(
            referrer=a,
            friend=b,
            source=ReferralSource.COUNTER,
            status=ReferralStatus.PENDING,
            reason_code=Reason.AWAITING_REVIEW,
            flags=[Flag.EXISTING],
            under_review=True,
            created_at=now - dt.timedelta(days=2),
            review_deadline=now + dt.timedelta(days=program.review_days - 2),
        )
        # Rejected by the manager.
        Referral.objects.create(
            referrer=c,
            friend=d,
            source=ReferralSource.CODE,
            status=ReferralStatus.REJECTED,
            reason_code=Reason.REVIEW_REJECTED,
            reason_text="Déjà cliente depuis 2019, venue sous un autre nom",
            flags=[Flag.EXISTING, Flag.DUPLICATE],
            created_at=now - dt.timedelta(days=20),
            decided_at=now - dt.timedelta(days=18),
        )
