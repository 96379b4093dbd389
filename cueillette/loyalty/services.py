"""Every write of the loyalty program: atomic, audited, never crediting twice.

Locking: every write that moves points first locks the card row (``_lock_card``:
``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the IMMEDIATE transaction mode already
serialises writers). Balances move with ``F()`` guarded by ``balance >= debit`` and the
``card_balance_not_negative`` constraint, so nothing can overspend even if a lock were missed.
Due expiries are always written before any other debit, so expired points are never spent.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cueillette.core import audit, consequences, permissions, rawsql, transactions
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence
from cueillette.core.errors import Conflict, NotFound, ServiceError
from cueillette.core.models import AuditEvent
from cueillette.core.money import parse_decimal
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import current_org
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer, Purpose
from cueillette.customers.models import Source as CustomerSource
from cueillette.loyalty import hotpath, rules
from cueillette.loyalty.errors import Code
from cueillette.loyalty.models import (
    CREDIT_KINDS,
    QUALIFYING_KINDS,
    Card,
    CardStatus,
    EntryKind,
    PointsEntry,
    Program,
    Purchase,
    Redemption,
    Refund,
    Reward,
    Source,
    Tier,
)

if TYPE_CHECKING:
    from cueillette.core.consequences import Fired

UNDO_WINDOW = dt.timedelta(minutes=5)

# Later capabilities (referrals, messaging, webhooks) react to purchases, refunds and
# redemptions by subscribing to PURCHASE_RECORDED / PURCHASE_REFUNDED / REWARD_REDEEMED
# (core.consequences); an IN_TRANSACTION subscriber that raises rolls the whole write back.

# --------------------------------------------------------------------------- program


def get_program() -> Program:
    """The current organization's program (created with sensible defaults on first use)."""
    program = Program.objects.first()
    if program is None:
        org = current_org()
        program, _created = Program.objects.get_or_create(
            organization=org, defaults={"name": _("Loyalty card")}
        )
    return program


def tiers() -> list[Tier]:
    return list(Tier.objects.order_by("threshold"))


def rule_tiers() -> list[rules.Tier]:
    return [t.as_rule() for t in tiers()]


# --------------------------------------------------------------------------- parsing


def parse_amount(value: Any, field: str = "amount") -> Decimal:
    try:
        amount = parse_decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise ServiceError(
            rules.RuleCode.INVALID_AMOUNT, _("%(f)s is not a number") % {"f": field}, field=field
        ) from exc
    if not amount.is_finite():
        raise ServiceError(
            rules.RuleCode.INVALID_AMOUNT, _("%(f)s is not a number") % {"f": field}, field=field
        )
    if amount < 0:
        raise ServiceError(
            rules.RuleCode.INVALID_AMOUNT,
            _("%(f)s must be zero or more") % {"f": field},
            field=field,
        )
    if amount > rules.MAX_AMOUNT:
        raise ServiceError(
            rules.RuleCode.AMOUNT_TOO_LARGE,
            _("%(f)s is too large: %(max)s at most") % {"f": field, "max": rules.MAX_AMOUNT},
            field=field,
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise ServiceError(
            rules.RuleCode.INVALID_AMOUNT,
            _("%(f)s has more than two decimals") % {"f": field},
            field=field,
        )
    return amount


def parse_lines(raw: Iterable[Any] | None) -> tuple[rules.PurchaseLine, ...]:
    lines = []
    for index, line in enumerate(raw or []):
        if not isinstance(line, dict):
            raise ServiceError(
                Code.INVALID, _("lines[%(i)d] must be an object") % {"i": index}, field="lines"
            )
        category = line.get("category")
        if category is not None and (not isinstance(category, str) or len(category) > 60):
            raise ServiceError(
                Code.INVALID,
                _("lines[%(i)d].category must be a short text") % {"i": index},
                field=f"lines[{index}].category",
            )
        lines.append(
            rules.PurchaseLine(
                amount=parse_amount(line.get("amount"), f"lines[{index}].amount"),
                category=category or None,
            )
        )
    return tuple(lines)


def check_currency(currency: str | None) -> str:
    org = current_org()
    value = (currency or org.currency).upper()
    if value != org.currency:
        raise ServiceError(
            Code.UNKNOWN_CURRENCY,
            _("currency %(c)s is not accepted: this business works in %(org)s")
            % {"c": value, "org": org.currency},
            field="currency",
        )
    return value


# --------------------------------------------------------------------------- cards


def open_card_for(customer: Customer) -> Card | None:
    return Card.objects.filter(customer=customer, status=CardStatus.OPEN).first()


def find_card(number: str) -> Card:
    """An open or closed card by its number (spaces and hyphens allowed)."""
    digits = rules.normalize_card_number(number)
    card = Card.objects.select_related("customer").filter(number=digits).first()
    if card is None:
        raise NotFound(Code.CARD_NOT_FOUND, _("no card with this number"), field="card")
    return card


def _lock_card(card_id: int) -> Card:
    """Lock the card row for the transaction (a no-op on SQLite, whose writers queue)."""
    return Card.objects.select_for_update().select_related("customer").get(pk=card_id)


def _require_open(card: Card) -> None:
    if not card.is_open:
        raise ServiceError(Code.CARD_CLOSED, _("this card is closed"), field="card")


@transaction.atomic
def join_program(
    customer: Customer,
    *,
    actor: Actor,
    source: str = "counter",
    language: str | None = None,
    now: dt.datetime | None = None,
) -> Card:
    """Join = an explicit consent (purpose: loyalty program) and a new card.

    The card is issued before the consent is recorded: the consent's CONSENT_CHANGED (heard by
    :func:`on_consent_changed`) then finds the open card and issues no second one. Granted
    elsewhere first (staff page, API, join page, import), the consent reaches here through
    :func:`join_from_consent`, and recording it again is a no-op (same decision and wording).
    """
    permissions.require(actor, Perm.SERVE_CUSTOMERS, customer=True)
    program = get_program()
    if not program.enabled:
        raise ServiceError(Code.PROGRAM_CLOSED, _("the loyalty program is closed"))
    if open_card_for(customer) is not None:
        raise Conflict(Code.ALREADY_MEMBER, _("this customer already has a card"), field="customer")
    now = now or timezone.now()
    consent_source = source if source in CustomerSource.values else CustomerSource.COUNTER
    card = None
    for _attempt in range(5):
        try:
            with transaction.atomic():
                card = Card.objects.create(
                    customer=customer, number=rules.generate_card_number(), opened_at=now
                )
            break
        except IntegrityError:
            continue
    if card is None:  # pragma: no cover - 5 collisions among 10^11 numbers
        raise ServiceError(Code.INVALID, _("could not issue a card number, try again"))
    customer_services.record_consent(
        customer, Purpose.LOYALTY, True, source=consent_source, actor=actor, language=language
    )
    audit.record(actor, "loyalty.joined", customer, card=card.pk)
    if program.welcome_bonus:
        _append(
            card,
            EntryKind.WELCOME,
            program.welcome_bonus,
            occurred_at=now,
            actor=actor,
            expires_at=_expiry(program, now),
        )
    return card


@transaction.atomic
def leave_program(card: Card, *, actor: Actor, source: str = "counter") -> Card:
    """Close the card and withdraw the loyalty consent; the history stays downloadable."""
    permissions.require(actor, Perm.SERVE_CUSTOMERS, customer=True)
    card = _lock_card(card.pk)
    if not card.is_open:
        return card
    Card.objects.filter(pk=card.pk).update(status=CardStatus.CLOSED, closed_at=timezone.now())
    consent_source = source if source in CustomerSource.values else CustomerSource.COUNTER
    customer_services.record_consent(
        card.customer, Purpose.LOYALTY, False, source=consent_source, actor=actor
    )
    audit.record(actor, "loyalty.left", card.customer, card=card.pk, balance=card.balance)
    card.refresh_from_db()
    return card


def join_from_consent(
    customer: Customer, *, actor: Actor, source: str, language: str | None = None
) -> Card | None:
    """When a customer grants the loyalty purpose elsewhere (join page, staff page, API,
    import, customer space), give them a card: the loyalty consent is the membership."""
    if open_card_for(customer) is not None or not get_program().enabled:
        return None
    return join_program(customer, actor=actor, source=source, language=language)


def on_consent_changed(fired: Fired) -> None:
    """CONSENT_CHANGED subscriber (in the consent's transaction), whatever the door: the
    loyalty consent granted issues a card (program open), withdrawn closes the open card.

    It follows the ledger's state after the entry, not the entry: a back-dated entry (an
    import) older than the latest decision changes nothing."""
    if fired["purpose"] != Purpose.LOYALTY:
        return
    customer: Customer = fired["customer"]
    actor: Actor = fired["actor"]
    if customer_services.has_consent(customer, Purpose.LOYALTY):
        join_from_consent(
            customer, actor=actor, source=fired["source"], language=fired["event"].wording.language
        )
        return
    card = open_card_for(customer)
    if card is not None:
        leave_program(card, actor=actor, source=fired["source"])


def on_consents_changed(fireds: Sequence[Fired]) -> None:
    """:func:`on_consent_changed` for a batch (an import): the same outcome per customer, in a
    few queries: cards (and their welcome gifts and audit rows) are inserted together."""
    loyal = [f for f in fireds if f["purpose"] == Purpose.LOYALTY]
    if not loyal:
        return
    by_customer: dict[int, Fired] = {}
    for fired in loyal:
        by_customer[fired["customer"].pk] = fired  # the last one names the actor and source
    states = customer_services.consent_states(list(by_customer), Purpose.LOYALTY)
    open_cards = {
        card.customer_id: card
        for card in Card.objects.filter(customer_id__in=by_customer, status=CardStatus.OPEN)
    }
    to_issue = [f for pk, f in by_customer.items() if states.get(pk) and pk not in open_cards]
    for pk, fired in by_customer.items():
        if not states.get(pk) and pk in open_cards:
            leave_program(open_cards[pk], actor=fired["actor"], source=fired["source"])
    if to_issue and get_program().enabled:
        _issue_cards([f["customer"] for f in to_issue], actor=to_issue[-1]["actor"])


def _issue_cards(customers: Sequence[Customer], *, actor: Actor) -> None:
    """New cards for customers whose loyalty consent is recorded, with the welcome gift and
    one audit row each: what :func:`join_program` writes, in one INSERT per table."""
    from cueillette.customers.bulk import RowInserter

    program = get_program()
    now = timezone.now()
    bonus = max(program.welcome_bonus, 0)
    org_id = current_org().pk
    inserter = RowInserter(Card, {"organization_id": org_id, "opened_at": now, "balance": bonus})
    for _attempt in range(5):
        rows = [{"customer_id": c.pk, "number": rules.generate_card_number()} for c in customers]
        try:
            with transaction.atomic():
                card_ids = inserter.insert(rows, returning=True)
            break
        except IntegrityError:  # pragma: no cover - a number collision among 10^11
            continue
    else:  # pragma: no cover
        raise ServiceError(Code.INVALID, _("could not issue a card number, try again"))
    RowInserter(
        AuditEvent,
        {
            "organization_id": org_id,
            "actor_user_id": actor.user.pk if actor.user else None,
            "actor_kind": actor.kind,
            "actor_label": actor.label[:200],
            "action": "loyalty.joined",
            "object_type": "customer",
            "created_at": now,
        },
    ).insert(
        [
            {"object_id": str(c.pk), "data": {"card": card_id}}
            for c, card_id in zip(customers, card_ids, strict=True)
        ]
    )
    if bonus:
        RowInserter(
            PointsEntry,
            {
                "organization_id": org_id,
                "kind": EntryKind.WELCOME,
                "points": bonus,
                "occurred_at": now,
                "recorded_at": now,
                "actor_kind": actor.kind,
                "actor_user_id": actor.user.pk if actor.user else None,
                "expires_at": _expiry(program, now),
            },
        ).insert([{"card_id": card_id} for card_id in card_ids])


# --------------------------------------------------------------------------- ledger core


def _expiry(program: Program, at: dt.datetime) -> dt.datetime | None:
    if not program.expiry_months:
        return None
    return rules.expiry_instant(at, program.expiry_months, current_org().tz)


def _append(
    card: Card,
    kind: str,
    points: int,
    *,
    occurred_at: dt.datetime,
    actor: Actor,
    **fields: Any,
) -> PointsEntry:
    """Write one entry and move the cached balance in the same transaction.

    A debit only applies if the balance covers it (guarded UPDATE), else nothing is written.
    """
    if points == 0:
        raise ServiceError(Code.INVALID, _("points must not be zero"), field="points")
    guard = Q(pk=card.pk)
    if points < 0:
        guard &= Q(balance__gte=-points)
    if not Card.objects.filter(guard).update(balance=F("balance") + points):
        raise ServiceError(
            Code.INSUFFICIENT_POINTS,
            _("not enough points: %(need)d needed") % {"need": -points},
            field="points",
        )
    expires_at = fields.get("expires_at")
    checked = card.expiries_checked_at
    if points > 0 and expires_at is not None and checked is not None and expires_at <= checked:
        # A backdated batch already past its expiry: make the next check replay everything.
        Card.objects.filter(pk=card.pk).update(expiries_checked_at=None)
        card.expiries_checked_at = None
    entry = PointsEntry.objects.create(
        card=card,
        kind=kind,
        points=points,
        occurred_at=occurred_at,
        actor_kind=actor.kind,
        actor_user=actor.user,
        **fields,
    )
    card.balance += points
    return entry


def ledger_entries(card: Card) -> list[PointsEntry]:
    return list(card.entries.order_by("id"))


def replay(card: Card, entries: Sequence[PointsEntry] | None = None) -> rules.PointsState:
    """The rules' view of the card: remaining points per earned batch (FIFO)."""
    items: list[rules.EarnBatch | rules.Debit] = []
    for e in entries if entries is not None else ledger_entries(card):
        if e.points > 0:
            items.append(
                rules.EarnBatch(
                    id=e.pk, points=e.points, earned_at=e.occurred_at, expires_at=e.expires_at
                )
            )
        elif e.kind == EntryKind.EXPIRY:
            items.append(
                rules.Debit(
                    rules.DebitKind.EXPIRY, -e.points, e.occurred_at, batch_id=e.corrects_id
                )
            )
        elif e.kind in (EntryKind.REFUND, EntryKind.CORRECTION) and e.corrects_id:
            items.append(
                rules.Debit(
                    rules.DebitKind.REFUND, -e.points, e.occurred_at, batch_id=e.corrects_id
                )
            )
        else:
            items.append(rules.Debit(rules.DebitKind.SPEND, -e.points, e.occurred_at))
    return rules.replay(items)


def _write_due_expiries(card: Card, now: dt.datetime, actor: Actor | None = None) -> int:
    """Record every expiry due at ``now`` (before any other debit). Returns points expired.

    The card is locked by the caller. ``Card.expiries_checked_at`` remembers up to when this
    was done, so the usual case (nothing new has expired) costs one indexed EXISTS instead of
    a replay of the whole ledger.
    """
    checked = card.expiries_checked_at
    newly_due = card.entries.filter(points__gt=0, expires_at__lte=now)
    if checked is not None:
        newly_due = newly_due.filter(expires_at__gt=checked)
    total = 0
    if newly_due.exists():
        state = replay(card)
        for debit in state.due_expiries(now):
            _append(
                card,
                EntryKind.EXPIRY,
                -debit.points,
                occurred_at=debit.at,
                actor=actor or Actor.system("expiry"),
                corrects_id=debit.batch_id,
            )
            total += debit.points
    if checked is None or checked < now:
        Card.objects.filter(pk=card.pk).update(expiries_checked_at=now)
        card.expiries_checked_at = now
    return total


def earned_today(card: Card, at: dt.datetime) -> int:
    start, end = rules.local_day_bounds(at, current_org().tz)
    value = card.entries.filter(
        kind__in=QUALIFYING_KINDS, occurred_at__gte=start, occurred_at__lt=end
    ).aggregate(s=Sum("points"))["s"]
    return int(value or 0)


def qualifying_entries() -> Q:
    """The ledger entries that count toward tiers (filter on ``PointsEntry``)."""
    return (
        Q(kind__in=QUALIFYING_KINDS)
        | Q(kind=EntryKind.REFUND)
        | Q(kind=EntryKind.CORRECTION, purchase__isnull=False)
    )


def as_qualifying(entries: Iterable[PointsEntry]) -> list[rules.QualifyingPoints]:
    """Earned purchase/visit points and refund take-backs (dated at their purchase).

    ``entries`` may be the whole ledger (others are skipped); refunds need ``purchase`` loaded.
    """
    out = []
    for e in entries:
        if e.kind in QUALIFYING_KINDS:
            out.append(rules.QualifyingPoints(e.points, e.occurred_at))
        elif (
            e.kind == EntryKind.REFUND or (e.kind == EntryKind.CORRECTION and e.purchase_id)
        ) and e.purchase is not None:
            out.append(rules.QualifyingPoints(e.points, e.purchase.occurred_at))
    return out


def qualifying_points(card: Card) -> list[rules.QualifyingPoints]:
    return as_qualifying(card.entries.filter(qualifying_entries()).select_related("purchase"))


def _reevaluate_tier(
    card: Card, now: dt.datetime, trigger: rules.TierTrigger, actor: Actor
) -> rules.TierDecision | None:
    defined = rule_tiers()
    if not defined:
        return None
    top = max(defined, key=lambda t: t.threshold)
    if trigger == rules.TierTrigger.EARN and card.tier_code == top.code:
        return None  # earning only upgrades: nothing above the top tier
    decision = rules.evaluate_tier(
        defined,
        card.tier_code or None,
        qualifying_points(card),
        now,
        current_org().tz,
        trigger=trigger,
    )
    new_code = decision.tier.code if decision.tier else ""
    fields: dict[str, Any] = {}
    if trigger == rules.TierTrigger.REVIEW:
        fields["tier_reviewed_at"] = now
    if new_code != card.tier_code:
        fields["tier_code"] = new_code
        audit.record(
            actor,
            "loyalty.tier_changed",
            card.customer,
            card=card.pk,
            previous=card.tier_code,
            tier=new_code,
            total=decision.total,
            trigger=str(trigger),
        )
    if fields:
        Card.objects.filter(pk=card.pk).update(**fields)
        for k, v in fields.items():
            setattr(card, k, v)
    return decision


def current_tier(card: Card) -> Tier | None:
    if not card.tier_code:
        return None
    return Tier.objects.filter(code=card.tier_code).first()


# --------------------------------------------------------------------------- simulate / earn


def simulate(
    *,
    amount: Any,
    lines: Iterable[Any] | None = None,
    at: dt.datetime | None = None,
    card: Card | None = None,
    tier_code: str | None = None,
    welcome_due: bool = False,
    program: Program | None = None,
) -> rules.Earning:
    """What a purchase would earn under the current rules, and why (writes nothing)."""
    program = program or get_program()
    at = at or timezone.now()
    purchase = rules.Purchase(amount=parse_amount(amount), at=at, lines=parse_lines(lines))
    tier = None
    code = tier_code if tier_code is not None else (card.tier_code if card else "")
    if code:
        found = Tier.objects.filter(code=code).first()
        tier = found.as_rule() if found else None
    birthday = None
    if card is not None:
        # The consent is read only when a bonus could be due (it costs a query per purchase).
        could_be_due = bool(program.birthday_bonus and card.customer.birthday)
        birthday = rules.BirthdayContext(
            birth_date=card.customer.birthday,
            consented=could_be_due
            and customer_services.has_consent(card.customer, Purpose.PROFILING),
            last_bonus_year=card.last_birthday_year,
        )
    return rules.points_for_purchase(
        program.earn_rules(),
        purchase,
        current_org().tz,
        tier=tier,
        earned_today=earned_today(card, at) if card else 0,
        welcome_due=welcome_due,
        birthday=birthday,
    )


def _same_purchase(p: Purchase, amount: Decimal, lines: Sequence[rules.PurchaseLine]) -> bool:
    stored = [(Decimal(str(x["amount"])), x.get("category")) for x in p.lines]
    return p.amount == amount and stored == [(x.amount, x.category) for x in lines]


@dataclass(frozen=True)
class PurchaseResult:
    """What recording a purchase did, for callers to show (nothing to recompute or re-lock)."""

    purchase: Purchase
    card: Card  # after the purchase: balance and tier as they now are
    created: bool  # False: this receipt was already recorded (a till's retry), nothing credited
    points_earned: int  # credited by this purchase (birthday gift included)

    @property
    def balance(self) -> int:
        return self.card.balance


@dataclass(frozen=True)
class RefundResult:
    """What a refund did: the points actually taken (never below zero) and the card after."""

    refund: Refund
    purchase: Purchase  # after the refund: refunded totals as they now are
    card: Card
    created: bool  # False: this refund id was already used (a retry), nothing taken again
    points_taken: int


def record_purchase(card: Card, **kwargs: Any) -> Purchase:
    """:func:`record_purchase_result`, for callers that need only the purchase row."""
    return record_purchase_result(card, **kwargs).purchase


@transactions.action_atomic
def record_purchase_result(
    card: Card | hotpath.CardNumber,
    *,
    amount: Any,
    actor: Actor,
    source: str = Source.COUNTER,
    receipt_id: str | None = None,
    currency: str | None = None,
    lines: Iterable[Any] | None = None,
    occurred_at: dt.datetime | None = None,
) -> PurchaseResult:
    """Credit a purchase. The same receipt id again returns the first purchase (a till retry,
    ``created=False``); the same receipt id with another amount or lines is a 409 conflict.

    ``card`` may be a :class:`hotpath.CardNumber` (a till's API call): the card is then found
    and locked in one statement, a 404 on ``card_number`` when the organization has none."""
    permissions.require(actor, Perm.SERVE_CUSTOMERS)
    amount_d = parse_amount(amount)
    parsed_lines = parse_lines(lines)
    currency = check_currency(currency)
    receipt = (receipt_id or "").strip()
    if source == Source.API and not receipt:
        raise ServiceError(Code.RECEIPT_REQUIRED, _("receipt_id is required"), field="receipt_id")
    if len(receipt) > 100:
        raise ServiceError(Code.INVALID, _("receipt_id is too long"), field="receipt_id")
    now = timezone.now()
    at = occurred_at or now
    if at > now + dt.timedelta(minutes=5):
        raise ServiceError(Code.INVALID, _("occurred_at is in the future"), field="occurred_at")
    # Lock first, then look for the receipt: a parallel retry of the same sale waits for the
    # first one and then finds its purchase (READ COMMITTED sees the committed row). The lock
    # brings the program's rules, the tiers and the ledger's answers in the same statement
    # (hotpath.lock_for_purchase).
    org = current_org()
    ref = card if isinstance(card, hotpath.CardNumber) else card.pk
    lock = functools.partial(
        hotpath.lock_for_purchase,
        ref,
        org.pk,
        receipt=receipt,
        now=now,
        day=rules.local_day_bounds(at, org.tz),
        since=now - dt.timedelta(days=rules.TIER_WINDOW_MONTHS * 31 + 31),
        consent_purpose=Purpose.PROFILING,
    )
    locked = lock()
    if locked is None:  # no such card, or the program's first use: create it, then lock
        get_program()
        locked = lock()
        if locked is None:
            field = card.field if isinstance(card, hotpath.CardNumber) else "card"
            raise NotFound(Code.CARD_NOT_FOUND, _("no card with this number"), field=field)
    if isinstance(card, Card) and card._state.fields_cache.get("customer") is not None:
        locked.card.customer = card.customer  # already read by the caller: no second read
    card, program, found = locked.card, locked.program, locked.found
    receipt_conflict = Conflict(
        Code.RECEIPT_CONFLICT,
        _("receipt_id %(r)s was already recorded with other details") % {"r": receipt},
        field="receipt_id",
    )
    if receipt and found.existing_purchase_id is not None:
        existing = Purchase.objects.get(pk=found.existing_purchase_id)
        if existing.card_id == card.pk and _same_purchase(existing, amount_d, parsed_lines):
            return PurchaseResult(
                existing, card, created=False, points_earned=_credited(existing, card)
            )
        raise receipt_conflict
    _require_open(card)
    if found.expiry_due:  # rare: replay the ledger and write the expiries (ORM path)
        _write_due_expiries(card, now, actor)
    tier = next((t for t in locked.tiers if t.code == card.tier_code), None)
    could_get_gift = bool(program.birthday_bonus and locked.birthday)
    earning = rules.points_for_purchase(
        program.earn,
        rules.Purchase(amount=amount_d, at=at, lines=parsed_lines),
        org.tz,
        tier=tier,
        earned_today=found.earned_today if program.daily_cap is not None else 0,
        welcome_due=False,
        birthday=rules.BirthdayContext(
            birth_date=locked.birthday,
            consented=could_get_gift and found.profiling_consent,
            last_bonus_year=card.last_birthday_year,
        ),
    )
    lines_json = [{"amount": str(x.amount), "category": x.category} for x in parsed_lines]
    purchase_fields: dict[str, Any] = {
        "organization_id": org.pk,
        "card_id": card.pk,
        "receipt_id": receipt or f"counter-{card.pk}-{now.timestamp():.6f}",
        "amount": amount_d,
        "currency": currency,
        "lines": lines_json,
        "occurred_at": at,
        "points": earning.points,
        "refunded_amount": Decimal(0),
        "points_taken_back": 0,
        "source": source,
        "created_by_id": actor.user.pk if actor.user is not None else None,
        "explanation": earning.steps_as_dicts(),
    }
    expires_at = _expiry_from(program.expiry_months, at, org)
    entry_base = {
        "organization_id": org.pk,
        "card_id": card.pk,
        "occurred_at": at,
        "actor_kind": actor.kind,
        "actor_user_id": actor.user.pk if actor.user is not None else None,
        "purchase_id": hotpath.PURCHASE_ID,
        "expires_at": expires_at,
    }
    entries: list[dict[str, Any]] = []
    if earning.points > 0:
        kind = EntryKind.PURCHASE if amount_d > 0 else EntryKind.VISIT
        entries.append({**entry_base, "kind": kind, "points": earning.points})
    if earning.birthday_points > 0:
        entries.append(
            {
                **entry_base,
                "kind": EntryKind.BIRTHDAY,
                "points": earning.birthday_points,
                "birthday_year": earning.birthday_year,
            }
        )
    credited = earning.points + earning.birthday_points
    card_values: dict[str, Any] = {"last_visit_at": at}
    if earning.birthday_points > 0:
        card_values["last_birthday_year"] = earning.birthday_year
    # What _write_due_expiries and _append record: every expiry due up to now is written;
    # a backdated batch already past its expiry makes the next check replay everything.
    checked: dt.datetime | None = card.expiries_checked_at
    if checked is None or checked < now:
        checked = now
    if entries and expires_at is not None and expires_at <= checked:
        checked = None
    if checked != card.expiries_checked_at:
        card_values["expiries_checked_at"] = checked
    audits: list[dict[str, Any]] = []
    qualifying_new = sum(e["points"] for e in entries if e["kind"] in QUALIFYING_KINDS)
    new_tier = _tier_after_earn(
        card,
        locked.tiers,
        now,
        org,
        bound=found.qualifying_bound + qualifying_new,
        at=at,
        new_points=qualifying_new,
    )
    if new_tier is not None:
        new_code, total = new_tier
        card_values["tier_code"] = new_code
        audits.append(
            _audit_row(
                actor,
                "loyalty.tier_changed",
                card.customer_id,
                card=card.pk,
                previous=card.tier_code,
                tier=new_code,
                total=total,
                trigger=str(rules.TierTrigger.EARN),
            )
        )
    audits.append(
        _audit_row(
            actor,
            "loyalty.purchase",
            card.customer_id,
            card=card.pk,
            purchase=hotpath.PURCHASE_ID,
            amount=str(amount_d),
            points=credited,
        )
    )
    try:
        purchase_id, card.balance = hotpath.write_purchase(
            purchase_fields, entries, card, credited, card_values, audits, touched_at=at
        )
    except IntegrityError as exc:
        # The same receipt on another card, in parallel: the unique constraint decided. No
        # query runs after the error: the Conflict leaves this atomic block, which rolls back.
        raise receipt_conflict from exc
    purchase = Purchase(id=purchase_id, **purchase_fields)
    purchase._state.adding = False
    purchase._state.db = connection.alias
    purchase.card = card
    for name, value in card_values.items():
        setattr(card, name, value)
    with rawsql.writes_watched() as watched:
        consequences.fire(
            Consequence.PURCHASE_RECORDED,
            organization_id=card.organization_id,
            purchase=purchase,
            card=card,
            points=credited,
            actor=actor,
        )
    if not watched.wrote:  # nothing moved the card: it is as written
        return PurchaseResult(purchase, card, created=True, points_earned=credited)
    # A subscriber (a referral's welcome bonus) may have moved the card: read it once.
    balance, tier_code, last_visit, year, points_earned = hotpath.card_after(card, purchase_id)
    card.balance, card.tier_code, card.last_visit_at = balance, tier_code, last_visit
    card.last_birthday_year = year
    return PurchaseResult(purchase, card, created=True, points_earned=points_earned)


def _expiry_from(months: int | None, at: dt.datetime, org: Any) -> dt.datetime | None:
    """:func:`_expiry` for the rules already read under the lock."""
    if not months:
        return None
    return rules.expiry_instant(at, months, org.tz)


def _tier_after_earn(
    card: Card,
    tiers: Sequence[rules.Tier],
    now: dt.datetime,
    org: Any,
    *,
    bound: int | None = None,
    at: dt.datetime | None = None,
    new_points: int = 0,
) -> tuple[str, int] | None:
    """:func:`_reevaluate_tier` after an earn: the new tier code and the rolling total when
    the tier changes, else None.

    ``bound``: an upper bound of the card's qualifying points (the positive qualifying entries
    of the last 13 months, this purchase's included). Earning only upgrades, so when the bound
    is below every tier above the card's, nothing can change and the ledger is not read. When
    the entries are read and the purchase's own (``new_points`` at ``at``) are not written yet,
    they are counted here."""
    if not tiers:
        return None
    ordered = rules.sort_tiers(tiers)
    codes = [t.code for t in ordered]
    if card.tier_code and card.tier_code not in codes:
        bound = None  # a tier that no longer exists counts as none: decide from the ledger
    above = ordered[codes.index(card.tier_code) + 1 :] if card.tier_code in codes else ordered
    if not above:
        return None  # earning only upgrades: nothing above the top tier
    if bound is not None and bound < min(t.threshold for t in above):
        return None
    since = now - dt.timedelta(days=rules.TIER_WINDOW_MONTHS * 31 + 31)
    entries = hotpath.qualifying_rows(card, since)
    if new_points > 0 and at is not None:
        entries.append(rules.QualifyingPoints(new_points, at))
    decision = rules.evaluate_tier(
        tiers, card.tier_code or None, entries, now, org.tz, trigger=rules.TierTrigger.EARN
    )
    new_code = decision.tier.code if decision.tier else ""
    if new_code == card.tier_code:
        return None
    return new_code, decision.total


def _audit_row(actor: Actor, action: str, customer_id: int, **data: Any) -> dict[str, Any]:
    """An ``audit.record`` row about a customer, for one multi-row insert."""
    return {
        "organization_id": current_org().pk,
        "actor_user_id": actor.user.pk if actor.user is not None else None,
        "actor_kind": actor.kind,
        "actor_label": actor.label[:200],
        "action": action,
        "object_type": Customer._meta.model_name,
        "object_id": str(customer_id),
        "data": data,
    }


def _credited(purchase: Purchase, card: Card) -> int:
    """Points the purchase credited to its card: its batches, a birthday gift, and a referral
    welcome bonus it triggered (the referrer's reward is on another card)."""
    total = purchase.entries.filter(card_id=card.pk, points__gt=0).aggregate(s=Sum("points"))
    return int(total["s"] or 0)


def refund_purchase(purchase: Purchase, **kwargs: Any) -> Refund:
    """:func:`refund_purchase_result`, for callers that need only the refund row."""
    return refund_purchase_result(purchase, **kwargs).refund


@transaction.atomic
def refund_purchase_result(
    purchase: Purchase,
    *,
    amount: Any | None,
    actor: Actor,
    source: str = Source.COUNTER,
    refund_id: str | None = None,
    reason: str = "",
    kind: str = EntryKind.REFUND,
) -> RefundResult:
    """Take back the points of a (partial) refund, proportionally; never credits.

    ``amount=None`` refunds what remains. A refund id already used returns the first refund
    (same amount) or is a 409 (another amount).
    """
    permissions.require(actor, Perm.SERVE_CUSTOMERS)
    refund_key = (refund_id or "").strip()
    if len(refund_key) > 100:
        raise ServiceError(Code.INVALID, _("refund_id is too long"), field="refund_id")
    purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
    remaining = purchase.amount - purchase.refunded_amount
    amount_d = remaining if amount is None else parse_amount(amount)
    if refund_key:
        existing = Refund.objects.filter(refund_id=refund_key).first()
        if existing is not None:
            if existing.purchase_id == purchase.pk and existing.amount == amount_d:
                taken = existing.entries.aggregate(s=Sum("points"))["s"]
                return RefundResult(
                    existing,
                    purchase,
                    Card.objects.get(pk=purchase.card_id),
                    created=False,
                    points_taken=-(taken or 0),
                )
            raise Conflict(
                Code.REFUND_CONFLICT,
                _("refund_id %(r)s was already used for another refund") % {"r": refund_key},
                field="refund_id",
            )
    take = rules.refund_points(
        purchase_amount=purchase.amount,
        earned_points=purchase.points,
        refund_amount=amount_d,
        refunded_before=purchase.refunded_amount,
        taken_before=purchase.points_taken_back,
    )
    now = timezone.now()
    card = _lock_card(purchase.card_id)
    _write_due_expiries(card, now, actor)
    refund = Refund.objects.create(
        purchase=purchase,
        refund_id=refund_key,
        amount=amount_d,
        points=take.points,
        occurred_at=now,
        source=source,
        reason=reason[:200],
    )
    Purchase.objects.filter(pk=purchase.pk).update(
        # Decimal arithmetic in Python on the locked row: SQLite would add REALs (0.23 + 0.01
        # = 0.24000000000000002) and trip the refunded <= amount constraint.
        refunded_amount=purchase.refunded_amount + amount_d,
        points_taken_back=F("points_taken_back") + take.points,
    )
    taken = 0
    shortfall = 0
    if take.points > 0:
        # Points already spent cannot be taken back below zero: take what the card holds.
        taken = min(take.points, card.balance)
        shortfall = take.points - taken
        # The purchase's own batch (a referral reward on another card may link to it too).
        batch = (
            purchase.entries.filter(kind__in=CREDIT_KINDS, card_id=card.pk).order_by("id").first()
        )
        if taken > 0:
            _append(
                card,
                kind,
                -taken,
                occurred_at=now,
                actor=actor,
                purchase=purchase,
                refund=refund,
                corrects=batch,
                reason=reason[:200],
            )
    _reevaluate_tier(card, now, rules.TierTrigger.REFUND, actor)
    audit.record(
        actor,
        "loyalty.refund",
        card.customer,
        card=card.pk,
        purchase=purchase.pk,
        amount=str(amount_d),
        points=taken,
        shortfall=shortfall,
    )
    consequences.fire(
        Consequence.PURCHASE_REFUNDED,
        organization_id=card.organization_id,
        refund=refund,
        purchase=purchase,
        card=card,
        actor=actor,
    )
    purchase.refresh_from_db(fields=["refunded_amount", "points_taken_back"])
    card.refresh_from_db(fields=["balance", "tier_code"])
    return RefundResult(refund, purchase, card, created=True, points_taken=taken)


def find_purchase(receipt_id: str) -> Purchase:
    purchase = Purchase.objects.filter(receipt_id=(receipt_id or "").strip()).first()
    if purchase is None:
        raise NotFound(
            Code.UNKNOWN_RECEIPT, _("no purchase with this receipt_id"), field="receipt_id"
        )
    return purchase


# --------------------------------------------------------------------------- rewards


def reward_available(
    reward: Reward,
    card: Card,
    today: dt.date,
    *,
    thresholds: Mapping[str, int] | None = None,
    balance: int | None = None,
) -> str | None:
    """Why the card cannot take this reward now (an error code), or None.

    ``thresholds`` (tier code -> threshold) saves a query per reward when listing many;
    ``balance`` overrides the card's cached balance (e.g. the points spendable right now).
    """
    if (
        not reward.active
        or (reward.valid_from and today < reward.valid_from)
        or (reward.valid_until and today > reward.valid_until)
    ):
        return Code.REWARD_UNAVAILABLE
    if reward.stock is not None and reward.stock <= 0:
        return Code.OUT_OF_STOCK
    if reward.min_tier:
        if thresholds is None:
            thresholds = dict(Tier.objects.values_list("code", "threshold"))
        needed = thresholds.get(reward.min_tier)
        mine = thresholds.get(card.tier_code) if card.tier_code else None
        if needed is not None and (mine is None or mine < needed):
            return Code.TIER_REQUIRED
    if (card.balance if balance is None else balance) < reward.cost:
        return Code.INSUFFICIENT_POINTS
    return None


@transaction.atomic
def redeem(card: Card, reward: Reward, *, actor: Actor, source: str = Source.COUNTER) -> Redemption:
    """Spend points on a reward: stock and balance are checked and moved atomically."""
    permissions.require(actor, Perm.SERVE_CUSTOMERS, customer=True)
    now = timezone.now()
    card = _lock_card(card.pk)
    _require_open(card)
    _write_due_expiries(card, now, actor)
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    why = reward_available(reward, card, timezone.localdate(now, current_org().tz))
    messages = {
        Code.REWARD_UNAVAILABLE: _("this reward is not offered at the moment"),
        Code.OUT_OF_STOCK: _("this reward is out of stock"),
        Code.TIER_REQUIRED: _("this reward is reserved to a higher tier"),
        Code.INSUFFICIENT_POINTS: _("not enough points: %(cost)d needed, %(balance)d available")
        % {"cost": reward.cost, "balance": card.balance},
    }
    if why is not None:
        raise ServiceError(why, messages[Code(why)], field="reward")
    if reward.stock is not None and not Reward.objects.filter(pk=reward.pk, stock__gt=0).update(
        stock=F("stock") - 1
    ):
        raise ServiceError(Code.OUT_OF_STOCK, messages[Code.OUT_OF_STOCK], field="reward")
    redemption = Redemption.objects.create(
        card=card, reward=reward, points=reward.cost, occurred_at=now, source=source
    )
    _append(
        card,
        EntryKind.REDEMPTION,
        -reward.cost,
        occurred_at=now,
        actor=actor,
        redemption=redemption,
    )
    audit.record(
        actor, "loyalty.redeemed", card.customer, card=card.pk, reward=reward.pk, points=reward.cost
    )
    consequences.fire(
        Consequence.REWARD_REDEEMED,
        organization_id=card.organization_id,
        redemption=redemption,
        card=card,
        reward=reward,
        actor=actor,
    )
    return redemption


# --------------------------------------------------------------------------- referrals


def credit_referral(
    card: Card,
    points: int,
    *,
    occurred_at: dt.datetime,
    actor: Actor,
    purchase: Purchase | None,
    reason: str,
    cause: str,
) -> PointsEntry:
    """Credit referral points (an expiring batch of kind REFERRAL) linked to the purchase that
    confirmed the referral and to its cause ("referrals:<id>"). The caller holds the
    transaction; the card is locked here and due expiries are written first."""
    card = _lock_card(card.pk)
    _require_open(card)
    _write_due_expiries(card, occurred_at, actor)
    entry = _append(
        card,
        EntryKind.REFERRAL,
        points,
        occurred_at=occurred_at,
        actor=actor,
        purchase=purchase,
        reason=reason[:200],
        cause=cause[:64],
        expires_at=_expiry(get_program(), occurred_at),
    )
    audit.record(
        actor, "loyalty.referral_credited", card.customer, card=card.pk, points=points, cause=cause
    )
    return entry


def take_back(
    entry: PointsEntry, *, actor: Actor, reason: str, now: dt.datetime | None = None
) -> tuple[PointsEntry | None, int]:
    """Take back a credited entry with a CORRECTION linked to it (``corrects``).

    The balance never goes negative: if some points were already spent, only what the card
    holds is taken back and the rest is returned as the shortfall (the correction entry then
    holds less than the original). Returns ``(correction or None, shortfall)``.
    """
    now = now or timezone.now()
    card = _lock_card(entry.card_id)
    _write_due_expiries(card, now, actor)
    taken = min(entry.points, card.balance)
    shortfall = entry.points - taken
    correction = None
    if taken > 0:
        correction = _append(
            card,
            EntryKind.CORRECTION,
            -taken,
            occurred_at=now,
            actor=actor,
            corrects=entry,
            reason=reason[:200],
            cause=entry.cause,
        )
    audit.record(
        actor,
        "loyalty.taken_back",
        card.customer,
        card=card.pk,
        entry=entry.pk,
        points=taken,
        shortfall=shortfall,
    )
    return correction, shortfall


# --------------------------------------------------------------------------- corrections


@transaction.atomic
def adjust(card: Card, points: int, *, reason: str, actor: Actor) -> PointsEntry:
    """A manual correction: needs a reason, lands in the audit log."""
    permissions.require(actor, Perm.ADJUST_POINTS)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(Code.REASON_REQUIRED, _("reason is required"), field="reason")
    if not isinstance(points, int) or points == 0 or abs(points) > rules.MAX_BONUS:
        raise ServiceError(
            Code.INVALID, _("points must be a non-zero whole number"), field="points"
        )
    now = timezone.now()
    card = _lock_card(card.pk)
    _require_open(card)
    _write_due_expiries(card, now, actor)
    entry = _append(
        card,
        EntryKind.ADJUSTMENT,
        points,
        occurred_at=now,
        actor=actor,
        reason=reason[:200],
        expires_at=_expiry(get_program(), now) if points > 0 else None,
    )
    audit.record(
        actor, "loyalty.adjusted", card.customer, card=card.pk, points=points, reason=reason[:200]
    )
    return entry


#: The refund reason written by :func:`undo_last` (a mistake fixed within minutes at the counter).
UNDO_REASON = "undo"


def undo_refunds() -> QuerySet[Refund]:
    """Refunds that are counter undos, not real refunds: written by :func:`undo_last` (source
    counter). A till that sends "undo" as a refund's free-text reason through the API (source
    api) makes a real refund."""
    return Refund.objects.filter(reason=UNDO_REASON, source=Source.COUNTER)


def is_undo(refund: Refund) -> bool:
    return refund.reason == UNDO_REASON and refund.source == Source.COUNTER


def last_undoable(card: Card, actor: Actor, now: dt.datetime | None = None) -> PointsEntry | None:
    """The actor's own last purchase or redemption on this card within five minutes."""
    now = now or timezone.now()
    entry = (
        card.entries.filter(
            actor_user=actor.user,
            kind__in=[EntryKind.PURCHASE, EntryKind.VISIT, EntryKind.REDEMPTION],
            recorded_at__gte=now - UNDO_WINDOW,
        )
        .order_by("-id")
        .first()
    )
    if entry is None or entry.corrections.exists():
        return None
    if entry.redemption_id and entry.redemption and entry.redemption.cancelled_at:
        return None
    if entry.purchase_id and entry.purchase and entry.purchase.refunded_amount > 0:
        return None
    return entry


@transaction.atomic
def undo_last(card: Card, *, actor: Actor) -> PointsEntry:
    """Undo one's own last operation (within five minutes) with a correcting entry."""
    permissions.require(actor, Perm.SERVE_CUSTOMERS)
    now = timezone.now()
    card = _lock_card(card.pk)
    entry = last_undoable(card, actor, now)
    if entry is None:
        raise ServiceError(
            Code.NOTHING_TO_UNDO, _("nothing of yours to undo in the last five minutes")
        )
    if entry.kind in (EntryKind.PURCHASE, EntryKind.VISIT):
        assert entry.purchase is not None
        refund_purchase(
            entry.purchase,
            amount=None,
            actor=actor,
            reason=UNDO_REASON,
            kind=EntryKind.CORRECTION,
            source=Source.COUNTER,
        )
        correction = entry.corrections.order_by("-id").first()
        if correction is None:  # every point was already spent: nothing could be taken back
            raise ServiceError(
                Code.NOTHING_TO_UNDO, _("the points of this purchase were already spent")
            )
        audit.record(actor, "loyalty.undone", card.customer, card=card.pk, entry=entry.pk)
        return correction
    redemption = entry.redemption
    assert redemption is not None
    Redemption.objects.filter(pk=redemption.pk).update(cancelled_at=now)
    if Reward.objects.filter(pk=redemption.reward_id, stock__isnull=False).exists():
        Reward.objects.filter(pk=redemption.reward_id).update(stock=F("stock") + 1)
    # Give back the points with the expiry of the batch they were taken from (the first one).
    entries = ledger_entries(card)
    state = replay(card, entries)
    debit_ids = [e.pk for e in entries if e.points < 0]
    expires = None
    if entry.pk in debit_ids:
        allocations = state.debits[debit_ids.index(entry.pk)].allocations
        if allocations:
            source_entry = next(e for e in entries if e.pk == allocations[0].batch_id)
            expires = source_entry.expires_at
    correction = _append(
        card,
        EntryKind.CORRECTION,
        redemption.points,
        occurred_at=now,
        actor=actor,
        corrects=entry,
        redemption=redemption,
        reason="undo",
        expires_at=expires,
    )
    audit.record(actor, "loyalty.undone", card.customer, card=card.pk, entry=entry.pk)
    return correction


# --------------------------------------------------------------------------- periodic work


def expire_due(now: dt.datetime | None = None) -> int:
    """Record due expiries for every card of the current organization. Returns points."""
    now = now or timezone.now()
    total = 0
    card_ids = list(
        PointsEntry.objects.filter(expires_at__lte=now, points__gt=0)
        .values_list("card_id", flat=True)
        .distinct()
    )
    for card_id in card_ids:
        with transaction.atomic():
            card = _lock_card(card_id)
            total += _write_due_expiries(card, now)
    return total


def review_tiers(now: dt.datetime | None = None) -> int:
    """Monthly review: members not reviewed since the 1st take the tier their total reaches."""
    now = now or timezone.now()
    since = rules.review_instant(now, current_org().tz)
    changed = 0
    for card_id in (
        Card.objects.filter(status=CardStatus.OPEN)
        .filter(Q(tier_reviewed_at__isnull=True) | Q(tier_reviewed_at__lt=since))
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            card = _lock_card(card_id)
            before = card.tier_code
            _reevaluate_tier(card, now, rules.TierTrigger.REVIEW, Actor.system("tier review"))
            changed += int(card.tier_code != before)
    return changed


@transaction.atomic
def close_cards_on_erasure(customer: Customer) -> int:
    """An erased customer's open cards are closed (no more loyalty messages, the wallet link
    stops working). The ledger stays: it holds no personal data. Returns the cards closed."""
    now = timezone.now()
    ids = list(
        Card.objects.filter(customer=customer, status=CardStatus.OPEN).values_list("pk", flat=True)
    )
    if not ids:
        return 0
    Card.objects.filter(pk__in=ids).update(status=CardStatus.CLOSED, closed_at=now)
    for card_id in ids:
        audit.record(
            Actor.system("erasure"),
            "loyalty.closed_on_erasure",
            object_type="card",
            object_id=card_id,
        )
    return len(ids)


# --------------------------------------------------------------------------- events


def credit_event(
    card: Card,
    points: int,
    *,
    occurred_at: dt.datetime,
    actor: Actor,
    reason: str,
    cause: str,
) -> PointsEntry:
    """Credit points for attending a session (an expiring batch of kind EVENT) with its cause
    ("events:<registration id>"). The caller holds the transaction and makes it happen once
    (the events app links the entry one-to-one to the registration)."""
    card = _lock_card(card.pk)
    _require_open(card)
    _write_due_expiries(card, occurred_at, actor)
    entry = _append(
        card,
        EntryKind.EVENT,
        points,
        occurred_at=occurred_at,
        actor=actor,
        reason=reason[:200],
        cause=cause[:64],
        expires_at=_expiry(get_program(), occurred_at),
    )
    audit.record(
        actor, "loyalty.event_credited", card.customer, card=card.pk, points=points, cause=cause
    )
    return entry
