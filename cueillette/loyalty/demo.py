"""Two years of loyalty history for the demo businesses (called by ``manage.py load_demo``).

The ledger is simulated with the same pure rules the services use (points per purchase,
expiry per batch, first earned first spent, proportional refunds), then written in bulk in
chronological order so that ``Card.balance`` equals the sum of the entries and a replay of
each card gives the same remaining points.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.management.color import no_style
from django.db import connection

from cueillette.core.models import Organization
from cueillette.customers.queries import contactable
from cueillette.loyalty import rules
from cueillette.loyalty.models import (
    Card,
    EntryKind,
    PointsEntry,
    Program,
    Purchase,
    Redemption,
    Refund,
    Reward,
    Tier,
)

CONFIG: dict[str, dict[str, Any]] = {
    "cabinet-martin": {
        "program": {
            "name": "Carte bien-être",
            "card_color": "#2f6b4f",
            "card_message": "Merci de votre fidélité",
            "points_per_euro": Decimal("1"),
            "points_per_visit": 10,
            "welcome_bonus": 20,
            "birthday_bonus": 30,
            "expiry_months": 18,
            "point_value": Decimal("0.05"),
        },
        "tiers": [("fidele", "Fidèle", 300, "1.10", "10 % de points en plus")],
        "rewards": [
            ("Tisane offerte", "Une boîte de tisane du cabinet", 150, None),
            ("Séance de moxibustion offerte", "20 minutes en fin de séance", 400, None),
            ("Séance offerte", "Une séance complète", 900, None),
        ],
        "visits": (3, 14),
        "amount": (Decimal("50"), Decimal("70")),
        "categories": [],
    },
    "epicerie-voisine": {
        "program": {
            "name": "Carte Voisine",
            "card_color": "#8a4b14",
            "card_message": "Un point par euro, des cadeaux de saison",
            "points_per_euro": Decimal("1"),
            "welcome_bonus": 50,
            "birthday_bonus": 50,
            "weekday_multipliers": {"1": "2"},
            "category_multipliers": {"vrac": "2", "fruits et légumes": "1.5"},
            "daily_cap": 500,
            "expiry_months": 12,
            "point_value": Decimal("0.01"),
        },
        "tiers": [
            ("argent", "Argent", 600, "1.10", "10 % de points en plus"),
            ("or", "Or", 1500, "1.25", "25 % de points en plus, café offert le samedi"),
        ],
        "rewards": [
            ("Café offert", "Un café au comptoir", 100, None),
            ("Pot de miel local", "Miel du Vexin, 250 g", 350, 40),
            ("Bon de 5 €", "À valoir sur vos courses", 500, None),
            ("Panier découverte", "Fromages et vins de saison", 1500, 10),
        ],
        "visits": (4, 45),
        "amount": (Decimal("6"), Decimal("85")),
        "categories": ["vrac", "fruits et légumes", "fromages", "vins"],
    },
}


@dataclass
class _Batch:
    key: int
    points: int
    remaining: int
    expires_at: dt.datetime | None


@dataclass
class _Card:
    card: Card
    entries: list[dict[str, Any]] = field(default_factory=list)
    batches: list[_Batch] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return sum(b.remaining for b in self.batches)


def load(
    org: Organization, customers: list[dict[str, Any]], rng: random.Random, now: dt.datetime
) -> None:
    config = CONFIG.get(org.slug)
    if config is None:
        return
    tz = org.tz
    program = Program.objects.create(organization=org, **config["program"])
    tiers = [
        Tier.objects.create(
            organization=org,
            code=code,
            name=name,
            threshold=threshold,
            multiplier=Decimal(mult),
            benefits=benefits,
        )
        for code, name, threshold, mult, benefits in config["tiers"]
    ]
    rewards = [
        Reward.objects.create(organization=org, name=n, description=d, cost=c, stock=s)
        for n, d, c, s in config["rewards"]
    ]
    earn_rules = program.earn_rules()
    members = set(contactable("loyalty").values_list("pk", flat=True))
    sims: list[tuple[_Card, list[dict[str, Any]]]] = []
    purchases: list[Purchase] = []
    numbers: set[str] = set()
    for c in customers:
        if c["id"] not in members:
            continue
        number = rules.generate_card_number(rng)
        while number in numbers:
            number = rules.generate_card_number(rng)
        numbers.add(number)
        opened = c["created_at"]
        card = Card(
            organization=org,
            customer_id=c["id"],
            number=number,
            opened_at=opened,
            last_visit_at=None,
        )
        events: list[dict[str, Any]] = []
        last = max(c["last_activity_at"] or opened, opened)
        span = (last - opened).total_seconds()
        n = rng.randint(*config["visits"]) if span > 0 else 1
        for _ in range(n):
            at = opened + dt.timedelta(seconds=rng.random() * span) if span > 0 else opened
            local = at.astimezone(tz)
            at = local.replace(hour=rng.randint(9, 18), minute=rng.randint(0, 59)).astimezone(
                dt.UTC
            )
            at = min(max(at, opened + dt.timedelta(minutes=1)), now - dt.timedelta(minutes=1))
            low, high = config["amount"]
            cents = rng.randint(int(low * 100), int(high * 100))
            amount = Decimal(cents) / 100
            lines: list[rules.PurchaseLine] = []
            if config["categories"] and rng.random() < 0.4:
                share = (amount * Decimal(rng.randint(20, 80)) / 100).quantize(Decimal("0.01"))
                lines.append(rules.PurchaseLine(share, rng.choice(config["categories"])))
            events.append({"at": at, "amount": amount, "lines": tuple(lines)})
        events.sort(key=lambda e: e["at"])
        sims.append((_Card(card), events))
    Card.objects.bulk_create([s.card for s, _events in sims])

    # Purchases first (entries point at them), with the points the rules give.
    next_key = 0
    plan: list[tuple[_Card, list[tuple[str, dict[str, Any]]]]] = []
    for sim, events in sims:
        steps: list[tuple[str, dict[str, Any]]] = []
        steps.append(("welcome", {"at": sim.card.opened_at}))
        for e in events:
            earning = rules.points_for_purchase(
                earn_rules, rules.Purchase(e["amount"], e["at"], e["lines"]), tz
            )
            purchase = Purchase(
                organization=org,
                card=sim.card,
                receipt_id=f"DEMO-{org.pk}-{len(purchases) + 1:06d}",
                amount=e["amount"],
                currency=org.currency,
                lines=[{"amount": str(x.amount), "category": x.category} for x in e["lines"]],
                occurred_at=e["at"],
                points=earning.points,
                source=rng.choice(["counter", "counter", "api"]),
                explanation=earning.steps_as_dicts(),
            )
            purchases.append(purchase)
            steps.append(("purchase", {"at": e["at"], "purchase": purchase}))
            if rng.random() < 0.03:
                steps.append(
                    ("refund", {"at": e["at"] + dt.timedelta(days=2), "purchase": purchase})
                )
            if rng.random() < 0.25:
                steps.append(("redeem", {"at": e["at"] + dt.timedelta(minutes=2)}))
        plan.append((sim, steps))
    Purchase.objects.bulk_create(purchases, batch_size=2000)

    refunds: list[Refund] = []
    redemptions: list[Redemption] = []
    stock = {r.pk: r.stock for r in rewards}
    for sim, steps in plan:
        purchase_batch: dict[int, _Batch] = {}

        def expire_until(when: dt.datetime, sim: _Card = sim) -> None:
            for b in sorted(sim.batches, key=lambda b: b.key):
                if b.remaining > 0 and b.expires_at is not None and b.expires_at <= when:
                    sim.entries.append(
                        {
                            "kind": EntryKind.EXPIRY,
                            "points": -b.remaining,
                            "at": b.expires_at,
                            "corrects": b.key,
                        }
                    )
                    b.remaining = 0

        def credit(
            kind: str, points: int, at: dt.datetime, sim: _Card = sim, **extra: Any
        ) -> _Batch:
            nonlocal next_key
            next_key += 1
            expires = (
                rules.expiry_instant(at, program.expiry_months, tz)
                if program.expiry_months
                else None
            )
            batch = _Batch(next_key, points, points, expires)
            sim.batches.append(batch)
            sim.entries.append(
                {
                    "kind": kind,
                    "points": points,
                    "at": at,
                    "key": next_key,
                    "expires": expires,
                    **extra,
                }
            )
            return batch

        for kind, data in steps:
            at = data["at"]
            if at >= now:
                continue
            expire_until(at)
            if kind == "welcome" and program.welcome_bonus:
                credit(EntryKind.WELCOME, program.welcome_bonus, at)
            elif kind == "purchase":
                p = data["purchase"]
                if p.points > 0:
                    purchase_batch[id(p)] = credit(EntryKind.PURCHASE, p.points, at, purchase=p)
                sim.card.last_visit_at = at
            elif kind == "refund":
                p = data["purchase"]
                batch = purchase_batch.get(id(p))
                if batch is None or p.refunded_amount:
                    continue
                amount = (p.amount / 2).quantize(Decimal("0.01"))
                take = rules.refund_points(
                    purchase_amount=p.amount, earned_points=p.points, refund_amount=amount
                )
                taken = min(take.points, batch.remaining)
                if taken <= 0:
                    continue
                batch.remaining -= taken
                refund = Refund(
                    organization=org,
                    purchase=p,
                    amount=amount,
                    points=taken,
                    occurred_at=at,
                    source="counter",
                    reason="Produit abîmé",
                )
                refunds.append(refund)
                p.refunded_amount = amount
                p.points_taken_back = taken
                sim.entries.append(
                    {
                        "kind": EntryKind.REFUND,
                        "points": -taken,
                        "at": at,
                        "corrects": batch.key,
                        "purchase": p,
                        "refund": refund,
                    }
                )
            elif kind == "redeem":
                affordable = [
                    r
                    for r in rewards
                    if r.cost <= sim.balance and (stock[r.pk] is None or stock[r.pk] > 0)
                ]
                if not affordable:
                    continue
                reward = max(affordable, key=lambda r: r.cost)
                if stock[reward.pk] is not None:
                    stock[reward.pk] -= 1
                left = reward.cost
                for b in sorted(sim.batches, key=lambda b: b.key):
                    use = min(left, b.remaining)
                    b.remaining -= use
                    left -= use
                redemption = Redemption(
                    organization=org,
                    card=sim.card,
                    reward=reward,
                    points=reward.cost,
                    occurred_at=at,
                    source="counter",
                )
                redemptions.append(redemption)
                sim.entries.append(
                    {
                        "kind": EntryKind.REDEMPTION,
                        "points": -reward.cost,
                        "at": at,
                        "redemption": redemption,
                    }
                )
        expire_until(now)

    Refund.objects.bulk_create(refunds)
    Redemption.objects.bulk_create(redemptions)
    for r in rewards:
        if r.stock != stock[r.pk]:
            Reward.objects.filter(pk=r.pk).update(stock=stock[r.pk])
    for p in purchases:
        if p.refunded_amount:
            Purchase.objects.filter(pk=p.pk).update(
                refunded_amount=p.refunded_amount, points_taken_back=p.points_taken_back
            )

    # Entries with explicit ids in chronological order per card (the ledger order).
    start = (
        PointsEntry.objects.unscoped().order_by("-pk").values_list("pk", flat=True).first() or 0
    ) + 1  # demo loading: ids across organizations must not collide
    rows: list[PointsEntry] = []
    key_to_pk: dict[int, int] = {}
    pk = start
    for sim, _steps in plan:
        for e in sim.entries:
            if "key" in e:
                key_to_pk[e["key"]] = pk
            rows.append(
                PointsEntry(
                    pk=pk,
                    organization=org,
                    card=sim.card,
                    kind=e["kind"],
                    points=e["points"],
                    occurred_at=e["at"],
                    expires_at=e.get("expires"),
                    purchase=e.get("purchase"),
                    refund=e.get("refund"),
                    redemption=e.get("redemption"),
                    corrects_id=key_to_pk.get(e["corrects"]) if "corrects" in e else None,
                    actor_kind="system" if e["kind"] == EntryKind.EXPIRY else "staff",
                )
            )
            pk += 1
        qualifying = [
            rules.QualifyingPoints(e["points"], e["at"])
            for e in sim.entries
            if e["kind"] == EntryKind.PURCHASE
        ]
        decision = (
            rules.evaluate_tier(
                [t.as_rule() for t in tiers],
                None,
                qualifying,
                now,
                tz,
                trigger=rules.TierTrigger.REVIEW,
            )
            if tiers
            else None
        )
        sim.card.balance = sum(e["points"] for e in sim.entries)
        sim.card.tier_code = decision.tier.code if decision and decision.tier else ""
        sim.card.tier_reviewed_at = now
        sim.card.expiries_checked_at = now
    PointsEntry.objects.bulk_create(rows, batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [PointsEntry]):
                cursor.execute(sql)
    Card.objects.bulk_update(
        [s.card for s, _ in plan],
        ["balance", "tier_code", "tier_reviewed_at", "expiries_checked_at", "last_visit_at"],
        batch_size=1000,
    )
