"""The seed's story for the demo shop (called by ``manage.py load_demo`` after loyalty).

Épicerie Voisine had a free Wednesday bus from the Mermoz district. About a hundred retired
customers of that district (mostly women) came on it every week for about 25 EUR. The bus
stopped on the first day of the month nine months before the demo's "now" (2026-03-01 for a
demo loaded in December 2026); almost all of them stopped coming. The demo records that change
on the timeline, links those customers to it, gives a few other lapsed customers a reason
chosen by staff or in the exit survey, and computes the figures — so the lost-revenue report
shows "Free bus stopped: ~97 customers, ~10,000 EUR a month".

The loyalty ledger of these customers follows the same pure rules as the services (points per
purchase, batches that expire), so ``Card.balance`` equals the sum of the entries.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from faker import Faker

from cueillette.accounts.models import Membership, Role
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.customers.bulk import RowInserter
from cueillette.customers.demo import _email_for, _mobile
from cueillette.customers.models import (
    PURPOSE_CHANNEL,
    ConsentEvent,
    ConsentWording,
    Customer,
    Purpose,
)
from cueillette.customers.normalize import fold
from cueillette.insights import queries, services
from cueillette.insights.models import (
    AttachmentSource,
    BusinessChange,
    ExitSurvey,
    LeaveReason,
    ReasonAttachment,
)
from cueillette.loyalty import rules
from cueillette.loyalty.models import Card, EntryKind, PointsEntry, Program, Purchase

SHOP = "epicerie-voisine"
PRACTICE = "cabinet-martin"
RIDERS = 100
STAY = 3  # riders who found another way to come
SEED = 20260301


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def load(
    org: Organization, customers: list[dict[str, Any]], rng: random.Random, now: dt.datetime
) -> None:
    if org.slug not in (SHOP, PRACTICE):
        return
    rng = random.Random(SEED + org.pk)
    staff = (
        Membership.objects.filter(role__in=[Role.MANAGER, Role.OWNER])
        .select_related("user")
        .order_by("-role")
        .first()
    )
    actor = Actor.of_membership(staff) if staff else Actor.system("demo")
    services.reasons()
    local_today = now.astimezone(org.tz).date()
    if org.slug == SHOP:
        stopped_on = _months_before(local_today, 9)
        bus = BusinessChange.objects.create(
            occurred_on=stopped_on,
            title="Arrêt de la navette gratuite du mercredi",
            description=(
                "La navette gratuite Mermoz - Épicerie du mercredi matin est supprimée "
                "(fin de la subvention de quartier)."
            ),
            reason=LeaveReason.objects.get(code="access"),
            created_by=staff.user if staff else None,
        )
        BusinessChange.objects.create(
            occurred_on=_months_before(local_today, 4),
            title="Hausse des prix du vrac (+8 %)",
            description="Nouveau fournisseur pour les céréales et les légumineuses.",
            reason=LeaveReason.objects.get(code="prices"),
            created_by=staff.user if staff else None,
        )
        riders = _bus_riders(org, rng, now, stopped_on)
    else:
        BusinessChange.objects.create(
            occurred_on=_months_before(local_today, 6),
            title="Séance à 60 € au lieu de 55 €",
            reason=LeaveReason.objects.get(code="prices"),
            created_by=staff.user if staff else None,
        )
        riders = []
    services.refresh(actor=Actor.system("demo"), now=now)
    if org.slug == SHOP:
        stopped = {s.customer_id for s in queries.stopped_around(bus)}
        services.link_change(bus, sorted(stopped & set(riders)), actor=actor, now=now)
    _other_reasons(org, rng, now, actor, exclude=set(riders))


def _bus_riders(
    org: Organization, rng: random.Random, now: dt.datetime, stopped_on: dt.date
) -> list[int]:
    """A hundred retired customers of the Mermoz district who came by the Wednesday bus."""
    fake = Faker("fr_FR")
    fake.seed_instance(SEED)
    tz = org.tz
    stop = dt.datetime.combine(stopped_on, dt.time.min, tzinfo=tz)
    emails: set[str] = set(Customer.objects.values_list("email", flat=True))
    phones: set[str] = set(Customer.objects.values_list("phone", flat=True))
    rows: list[dict[str, Any]] = []
    for i in range(RIDERS):
        female = i % 10 != 0
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name()
        joined = stop - dt.timedelta(days=rng.randint(330, 700))
        email = _email_for(first, last, rng, emails) if rng.random() < 0.7 else ""
        phone = _mobile(rng, phones)
        rows.append(
            {
                "organization_id": org.pk,
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": phone,
                "postal_code": "69008",
                "language": "fr",
                "birthday": dt.date(
                    rng.randint(1938, 1959), rng.randint(1, 12), rng.randint(1, 28)
                ),
                "notes": "Venait par la navette du mercredi." if rng.random() < 0.3 else "",
                "tags": ["fruits et légumes"] if rng.random() < 0.5 else [],
                "heard_from": "walk_by",
                "heard_from_detail": "",
                "source": "counter",
                "status": "active",
                "created_at": joined,
                "updated_at": joined,
                "last_activity_at": joined,
                "search_last": fold(last)[:100],
                "search_first": fold(first)[:100],
                "search_phone": phone[3:],
            }
        )
    ids = RowInserter(Customer, {}).insert(rows, returning=True)
    for row, pk in zip(rows, ids, strict=True):
        row["id"] = pk
    _consents(org, rows, rng)
    _loyalty(org, rows, rng, now, stop)
    return [r["id"] for r in rows]


def _consents(org: Organization, rows: list[dict[str, Any]], rng: random.Random) -> None:
    wordings = {(w.purpose, w.language): w for w in ConsentWording.objects.all()}
    events = []
    for r in rows:
        purposes = [Purpose.LOYALTY]
        if r["email"] and rng.random() < 0.45:
            purposes.append(Purpose.FEEDBACK)
        if rng.random() < 0.35:
            purposes.append(Purpose.NEWS_SMS)
        for purpose in purposes:
            wording = wordings[(purpose, "fr")]
            events.append(
                ConsentEvent(
                    organization=org,
                    customer_id=r["id"],
                    purpose=purpose,
                    channel=PURPOSE_CHANNEL[purpose],
                    granted=True,
                    occurred_at=r["created_at"],
                    source="counter",
                    wording=wording,
                    wording_hash=wording.text_hash,
                    actor_kind="staff",
                    actor_label="demo",
                )
            )
    ConsentEvent.objects.bulk_create(events)


def _loyalty(
    org: Organization,
    rows: list[dict[str, Any]],
    rng: random.Random,
    now: dt.datetime,
    stop: dt.datetime,
) -> None:
    program = Program.objects.get()
    earn = program.earn_rules()
    tz = org.tz
    numbers = set(Card.objects.values_list("number", flat=True))
    cards: list[Card] = []
    for r in rows:
        number = rules.generate_card_number(rng)
        while number in numbers:
            number = rules.generate_card_number(rng)
        numbers.add(number)
        cards.append(
            Card(organization=org, customer_id=r["id"], number=number, opened_at=r["created_at"])
        )
    Card.objects.bulk_create(cards)
    stayers = set(rng.sample(range(len(rows)), STAY))
    purchases: list[Purchase] = []
    plan: list[tuple[Card, list[Purchase]]] = []
    for i, (r, card) in enumerate(zip(rows, cards, strict=True)):
        day = r["created_at"].astimezone(tz).date()
        day += dt.timedelta(days=(2 - day.weekday()) % 7)  # the first Wednesday
        end = now if i in stayers else stop
        mine: list[Purchase] = []
        while True:
            at = dt.datetime.combine(
                day, dt.time(rng.randint(9, 11), rng.randint(0, 59), rng.randint(0, 59)), tzinfo=tz
            )
            if at >= end or at >= now:
                break
            if rng.random() < 0.9:  # a missed Wednesday now and then
                amount = Decimal(rng.randint(1800, 3200)) / 100
                points = rules.points_for_purchase(
                    earn, rules.Purchase(amount, at.astimezone(dt.UTC), ()), tz
                ).points
                p = Purchase(
                    organization=org,
                    card=card,
                    receipt_id=f"NAV-{org.pk}-{card.pk}-{len(mine) + 1:04d}",
                    amount=amount,
                    currency=org.currency,
                    occurred_at=at.astimezone(dt.UTC),
                    points=points,
                    source="counter",
                )
                mine.append(p)
            day += dt.timedelta(days=7)
        purchases.extend(mine)
        plan.append((card, mine))
    Purchase.objects.bulk_create(purchases, batch_size=2000)

    credits: list[PointsEntry] = []
    for card, mine in plan:
        if program.welcome_bonus:
            credits.append(
                _credit(
                    org, card, EntryKind.WELCOME, program.welcome_bonus, card.opened_at, program
                )
            )
        for p in mine:
            if p.points > 0:
                credits.append(
                    _credit(org, card, EntryKind.PURCHASE, p.points, p.occurred_at, program, p)
                )
    PointsEntry.objects.bulk_create(credits, batch_size=2000)
    expiries = [
        PointsEntry(
            organization=org,
            card_id=e.card_id,
            kind=EntryKind.EXPIRY,
            points=-e.points,
            occurred_at=e.expires_at,
            corrects=e,
            actor_kind="system",
        )
        for e in credits
        if e.expires_at is not None and e.expires_at <= now
    ]
    PointsEntry.objects.bulk_create(expiries, batch_size=2000)
    balances: dict[int, int] = {}
    for e in [*credits, *expiries]:
        balances[e.card_id] = balances.get(e.card_id, 0) + e.points
    for card, mine in plan:
        card.balance = balances.get(card.pk, 0)
        card.last_visit_at = mine[-1].occurred_at if mine else None
        card.expiries_checked_at = now
        card.tier_reviewed_at = now
    Card.objects.bulk_update(
        cards,
        ["balance", "last_visit_at", "expiries_checked_at", "tier_reviewed_at"],
        batch_size=500,
    )
    for card, mine in plan:
        if mine:
            Customer.objects.filter(pk=card.customer_id).update(
                last_activity_at=mine[-1].occurred_at, updated_at=mine[-1].occurred_at
            )


def _credit(
    org: Organization,
    card: Card,
    kind: str,
    points: int,
    at: dt.datetime,
    program: Program,
    purchase: Purchase | None = None,
) -> PointsEntry:
    expires = (
        rules.expiry_instant(at, program.expiry_months, org.tz) if program.expiry_months else None
    )
    return PointsEntry(
        organization=org,
        card=card,
        kind=kind,
        points=points,
        occurred_at=at,
        expires_at=expires,
        purchase=purchase,
        actor_kind="staff",
    )


def _other_reasons(
    org: Organization, rng: random.Random, now: dt.datetime, actor: Actor, exclude: set[int]
) -> None:
    """A few lapsed customers with a reason chosen by staff, a few who answered the survey."""
    lapsed = [s for s in queries.lapsed_by_value() if s.customer_id not in exclude][:40]
    reasons = {r.code: r for r in LeaveReason.objects.all()}
    staff_codes = ["moved", "moved", "competitor", "hours", "prices", "health"]
    for s in lapsed[:12]:
        services.attach_reason(
            s.customer, actor=actor, reason=reasons[rng.choice(staff_codes)], now=now
        )
    # Exit-survey answers, only from customers with the FEEDBACK consent (as the service
    # requires to send one).
    answered = 0
    for s in lapsed[12:]:
        consent = services.current_feedback_consent(s.customer)
        if consent is None or not s.customer.email:
            continue
        sent = now - dt.timedelta(days=rng.randint(10, 40))
        survey = ExitSurvey.objects.create(
            customer=s.customer,
            consent=consent,
            token_hash=f"demo-{org.pk}-{s.customer_id}",
            language=s.customer.language,
            sent_at=sent,
            expires_at=sent + dt.timedelta(days=services.EXIT_SURVEY_DAYS),
            answered_at=sent + dt.timedelta(days=1),
        )
        ReasonAttachment.objects.create(
            customer=s.customer,
            source=AttachmentSource.SURVEY,
            reason=reasons[rng.choice(["prices", "products", "hours", "moved"])],
            comment=rng.choice(["", "", "Je fais mes courses près du travail maintenant."]),
            created_at=sent + dt.timedelta(days=1),
            actor_kind="customer",
            survey=survey,
        )
        answered += 1
        if answered >= 6:
            break
