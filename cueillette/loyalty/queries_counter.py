"""Reads of the counter screen: find a member, and everything the member screen shows.

The counter runs on a cheap phone with a queue at the till, so each screen is built from a
handful of queries: the card, the customer with their consents, the program, the tiers, the
card's ledger (read ONCE and used for both the expiry schedule and the tier status), the
rewards, the last visits and the undoable operation.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.tenancy import current_org
from cueillette.customers import queries as customer_queries
from cueillette.customers.models import Customer
from cueillette.loyalty import rules, services
from cueillette.loyalty.errors import Code
from cueillette.loyalty.models import (
    Card,
    CardStatus,
    EntryKind,
    PointsEntry,
    Program,
    Purchase,
    Reward,
    Tier,
)

RESULTS_LIMIT = 20
LAST_VISITS = 5
REWARDS_LIMIT = 50
_CARD_LIKE = re.compile(r"^[\d\s.\-\u00a0\u202f]+$")


# --------------------------------------------------------------------------- lookup


def looks_like_card_number(query: str) -> bool:
    """Twelve digits, maybe grouped with spaces: a card number, not a phone number."""
    q = query.strip()
    return bool(_CARD_LIKE.match(q)) and len(rules.normalize_card_number(q)) == 12


@dataclass
class Lookup:
    """What the counter's search box found for ``query``."""

    query: str
    card: Card | None = None
    card_error: str = ""
    customers: list[Customer] = field(default_factory=list)
    # customer id -> their open card, for the results list.
    cards: dict[int, Card] = field(default_factory=dict)

    @property
    def only_customer(self) -> Customer | None:
        return self.customers[0] if len(self.customers) == 1 else None


def lookup(query: str) -> Lookup:
    """A card number (Luhn-checked) goes to its card; anything else searches customers by
    name, phone or email (:func:`cueillette.customers.queries.search`)."""
    q = query.strip()[:100]
    found = Lookup(query=q)
    if not q:
        return found
    if looks_like_card_number(q):
        try:
            number = rules.validate_card_number(q)
        except ServiceError as exc:
            found.card_error = _card_error(exc)
            return found
        try:
            found.card = services.find_card(number)
        except ServiceError:
            found.card_error = _("No card with the number %(n)s in this business.") % {
                "n": rules.format_card_number(number)
            }
        return found
    found.customers = list(customer_queries.search(q, limit=RESULTS_LIMIT))
    if found.customers:
        found.cards = {
            c.customer_id: c
            for c in Card.objects.filter(
                customer_id__in=[x.pk for x in found.customers], status=CardStatus.OPEN
            )
        }
    return found


def _card_error(exc: ServiceError) -> str:
    # The rules speak English field-style; say it for the person at the till.
    if "check digit" in exc.message:
        return _("This card number is not valid: the check digit does not match (a typing error?).")
    return _("This card number is not valid: a card number has 12 digits.")


def extract_card_number(value: str) -> str | None:
    """The card number in what a QR code said: the plain 12 digits, or a link ending with
    ``/card/<number>/``."""
    match = re.search(r"/card/([\d\s]+)/?", value)
    candidate = match.group(1) if match else value
    digits = rules.normalize_card_number(candidate.strip())
    return digits if len(digits) == 12 and digits.isdigit() else None


# --------------------------------------------------------------------------- member screen


@dataclass(frozen=True)
class RewardOffer:
    reward: Reward
    missing: int  # points still needed (0: can take it now)


@dataclass(frozen=True)
class Visit:
    purchase: Purchase
    amount_text: str


@dataclass(frozen=True)
class Undoable:
    entry: PointsEntry
    label: str
    until: dt.datetime
    seconds_left: int


@dataclass
class MemberView:
    card: Card
    customer: Customer
    program: Program
    balance: int
    tier: Tier | None
    status: rules.TierStatus | None
    next_tier: Tier | None
    progress_max: int
    progress_value: int
    rewards_now: list[RewardOffer]
    rewards_later: list[RewardOffer]
    expiring: list[rules.ExpiryLine]
    expiring_soon: list[rules.ExpiryLine]
    visits: list[Visit]
    undo: Undoable | None
    tags: list[str]


def customer_with_consents(customer_id: int) -> Customer:
    return customer_queries.with_consents(Customer.objects.filter(pk=customer_id)).get()


def points_text(n: int) -> str:
    """ "0 point", "1 point", "1 250 points" (French plural: singular up to 1)."""
    return ngettext("%(n)s point", "%(n)s points", abs(n)) % {
        "n": formats.number_format(n, force_grouping=True)
    }


def undo_label(entry: PointsEntry) -> str:
    if entry.kind == EntryKind.REDEMPTION and entry.redemption is not None:
        return _("reward “%(reward)s” (%(points)s)") % {
            "reward": entry.redemption.reward.name,
            "points": points_text(-entry.points),
        }
    if entry.purchase is not None:
        return _("purchase of %(amount)s (+%(points)s)") % {
            "amount": money(entry.purchase.amount),
            "points": points_text(entry.points),
        }
    sign = "+" if entry.points >= 0 else "-"
    return sign + points_text(abs(entry.points))


def member_view(card: Card, actor: Actor, now: dt.datetime | None = None) -> MemberView:
    """Everything the member screen shows about ``card`` (a card of the current org)."""
    now = now or timezone.now()
    tz = current_org().tz
    today = timezone.localdate(now, tz)
    customer = customer_with_consents(card.customer_id)
    card.customer = customer
    program = services.get_program()
    tiers = services.tiers()
    by_code = {t.code: t for t in tiers}
    entries = list(card.entries.select_related("purchase").order_by("id"))
    state = services.replay(card, entries)
    # Points whose expiry is due but not written yet are not spendable: show what is.
    balance = min(card.balance, state.available_at(now))
    tier = by_code.get(card.tier_code) if card.tier_code else None
    status = None
    next_tier = None
    progress_max = progress_value = 0
    if tiers:
        status = rules.tier_status(
            [t.as_rule() for t in tiers],
            card.tier_code or None,
            services.as_qualifying(entries),
            now,
            tz,
        )
        if status.next_tier is not None:
            next_tier = by_code.get(status.next_tier.code)
            progress_max = status.next_tier.threshold
            progress_value = min(status.total, progress_max)
    thresholds = {t.code: t.threshold for t in tiers}
    rewards_now: list[RewardOffer] = []
    rewards_later: list[RewardOffer] = []
    if card.status == CardStatus.OPEN:
        for reward in Reward.objects.filter(active=True).order_by("cost", "name")[:REWARDS_LIMIT]:
            why = services.reward_available(
                reward, card, today, thresholds=thresholds, balance=balance
            )
            if why is None:
                rewards_now.append(RewardOffer(reward, 0))
            elif why == Code.INSUFFICIENT_POINTS:
                rewards_later.append(RewardOffer(reward, reward.cost - balance))
    schedule = [line for line in state.schedule(tz) if line.expires_at > now]
    horizon = today + dt.timedelta(days=program.expiry_warning_days)
    expiring_soon = [line for line in schedule if line.last_day <= horizon]
    visits = [
        Visit(p, money(p.amount))
        for p in card.purchases.order_by("-occurred_at", "-id")[:LAST_VISITS]
    ]
    undo = None
    if card.status == CardStatus.OPEN and actor.user is not None:
        entry = services.last_undoable(card, actor, now)
        if entry is not None:
            until = entry.recorded_at + services.UNDO_WINDOW
            left = max(0, int((until - now).total_seconds()))
            undo = Undoable(entry, undo_label(entry), until, left)
    tags = [str(t) for t in customer.tags] if isinstance(customer.tags, list) else []
    return MemberView(
        card=card,
        customer=customer,
        program=program,
        balance=balance,
        tier=tier,
        status=status,
        next_tier=next_tier,
        progress_max=progress_max,
        progress_value=progress_value,
        rewards_now=rewards_now,
        rewards_later=rewards_later[:3],
        expiring=schedule[:3],
        expiring_soon=expiring_soon,
        visits=visits,
        undo=undo,
        tags=tags,
    )


# --------------------------------------------------------------------------- explanations


def money(amount: Decimal | str) -> str:
    value = Decimal(str(amount))
    currency = current_org().currency
    symbol = _SYMBOLS.get(currency, currency)
    return f"{formats.number_format(value, 2, use_l10n=True)}\u00a0{symbol}"


_SYMBOLS = {"EUR": "€", "CHF": "CHF", "GBP": "£", "USD": "$", "CAD": "$"}


def num(value: object) -> str:
    """A decimal written the way the page's language writes it ("12,3" in French)."""
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    if number == number.to_integral():
        return str(int(number))
    return str(formats.localize(number))


def explain(steps: list[rules.Step] | tuple[rules.Step, ...]) -> list[str]:
    """Each step of an earning, as a sentence for the person at the till."""
    out: list[str] = []
    for step in steps:
        text = _explain_step(step.code, dict(step.params))
        if text:
            out.append(text)
    return out


_WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)


def _weekday(index: int) -> str:
    names = [
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    ]
    return names[index] if index in _WEEKDAYS else ""


def _explain_step(code: str, p: dict[str, Any]) -> str:
    if code == rules.StepCode.PURCHASE_POINTS:
        text = _("%(amount)s × %(rate)s point(s) per euro = %(points)s")  # noqa: RUF001
        return text % {
            "amount": money(p["amount"]),
            "rate": num(p["rate"]),
            "points": num(p["points"]),
        }
    if code == rules.StepCode.MULTIPLIER:
        if p.get("source") == "weekday":
            text = _("×%(m)s on %(day)s")  # noqa: RUF001 (the multiplication sign)
            return text % {"m": num(p["multiplier"]), "day": _weekday(int(p["weekday"]))}
        text = _("×%(m)s for the category “%(c)s”")  # noqa: RUF001 (the multiplication sign)
        return text % {"m": num(p["multiplier"]), "c": p["category"]}
    if code == rules.StepCode.TIER_MULTIPLIER:
        text = _("×%(m)s for the tier: %(points)s")  # noqa: RUF001 (the multiplication sign)
        return text % {
            "m": num(p["multiplier"]),
            "points": num(p["points"]),
        }
    if code == rules.StepCode.ROUNDING:
        if Decimal(str(p["exact"])) == Decimal(str(p["points"])):
            return ""
        return _("%(exact)s rounded to %(points)s (%(mode)s)") % {
            "exact": num(p["exact"]),
            "points": num(p["points"]),
            "mode": {
                "floor": _("rounded down"),
                "half_up": _("to the nearest, halves up"),
                "half_even": _("to the nearest, halves to even"),
            }.get(str(p["mode"]), str(p["mode"])),
        }
    if code == rules.StepCode.VISIT:
        return _("+%(points)s for the visit") % {"points": num(p["points"])}
    if code == rules.StepCode.DAILY_CAP:
        return _(
            "Daily cap of %(cap)s points (%(today)s already earned today): %(points)s instead of "
            "%(before)s"
        ) % {
            "cap": num(p["cap"]),
            "today": num(p["earned_today"]),
            "points": num(p["points"]),
            "before": num(p["before"]),
        }
    if code == rules.StepCode.WELCOME:
        return _("+%(points)s welcome bonus") % {"points": num(p["points"])}
    if code == rules.StepCode.BIRTHDAY:
        return _("+%(points)s birthday bonus") % {"points": num(p["points"])}
    return ""
