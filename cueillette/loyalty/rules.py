"""Pure loyalty rules: no database, no clock, no settings.

Every function here takes what it needs as arguments (the organization's time zone as a
``ZoneInfo``, "now" as an aware datetime) and returns frozen dataclasses, so the services, the
API, the "simulate" panel and the tests all share one definition of each rule. Money is
``Decimal``, points are ``int``, instants are timezone-aware and are returned in UTC.

The rules, stated once (the docstrings below give the details):

Earning (:func:`points_for_purchase`)
    exact = sum over lines of ``amount x points_per_euro x line multiplier``, times the tier
    multiplier, rounded ONCE per purchase with the program's :class:`Rounding` (floor by
    default). A line's multiplier is the BEST matching one (the purchase's local weekday or the
    line's category): promotional multipliers never stack with each other; the tier multiplier
    stacks multiplicatively on top of them. Then the visit points are added (never multiplied),
    then the daily cap applies to purchase + visit points (bonuses are outside the cap). The
    welcome bonus is added when the caller says it is due; the birthday bonus only with consent
    to personalised offers, once per birthday occurrence, inside a window around the birthday
    (29 February is celebrated on 28 February in non-leap years).

Refunds (:func:`refund_points`)
    Cumulative proportional take-back rounded UP: after refunding R of a purchase A that earned
    P, ``ceil(P x R / A)`` points have been taken back in total. The customer therefore keeps
    ``floor(P x (A - R) / A)``, the partial refunds never sum to more than P, and the refund
    that completes the purchase takes back exactly the remainder.

Expiry (:func:`expiry_instant`, :func:`replay`)
    Points earned on local day D with N months expire at the END of local day
    ``D + N months`` (clamped to the month's last day): they are valid while
    ``now < start of the next local day``. Spending is first earned, first spent (FIFO).

Tiers (:func:`evaluate_tier`, :func:`tier_status`)
    Qualifying points are counted on a rolling 12-month window with the same "last day" rule
    as expiry; refunds count negatively against the purchase they reverse. Reaching a
    threshold exactly reaches the tier. Earning may only upgrade; the monthly review (local
    midnight starting the 1st of each month) sets the tier to what the rolling total reaches,
    which is the only time a member is downgraded.

Card numbers (:func:`generate_card_number`, :func:`validate_card_number`)
    12 digits: 11 random digits (the first one never 0) and a Luhn check digit. Luhn catches
    every single-digit error and every adjacent transposition except 09 <-> 90.
"""

from __future__ import annotations

import calendar
import math
import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from cueillette.core.errors import ServiceError

# ---------------------------------------------------------------------------------------------
# Errors and explanations
# ---------------------------------------------------------------------------------------------


class RuleCode(StrEnum):
    """Stable codes of the errors raised by the rules (the API and forms show them)."""

    INVALID_AMOUNT = "invalid_amount"
    AMOUNT_TOO_LARGE = "amount_too_large"
    LINES_EXCEED_AMOUNT = "lines_exceed_amount"
    INVALID_RULE = "invalid_rule"
    INVALID_POINTS = "invalid_points"
    REFUND_EXCEEDS_PURCHASE = "refund_exceeds_purchase"
    INSUFFICIENT_POINTS = "insufficient_points"
    UNKNOWN_BATCH = "unknown_batch"
    DUPLICATE_BATCH = "duplicate_batch"
    EXPIRY_NOT_DUE = "expiry_not_due"
    EXPIRY_EXCEEDS_BATCH = "expiry_exceeds_batch"
    INVALID_TIERS = "invalid_tiers"
    INVALID_CARD_NUMBER = "invalid_card_number"


class RuleError(ServiceError):
    """A rule refused its input: a stable ``code``, the ``field`` at fault, a readable message.

    It is a :class:`~cueillette.core.errors.ServiceError`, so services may let it propagate
    and the API renders it with the common error format.
    """

    def __init__(self, code: RuleCode, message: str, *, field: str | None = None) -> None:
        super().__init__(code, message, field=field)


class StepCode(StrEnum):
    """What an explanation step says; the UI translates each code with its ``params``.

    Params are ``str`` (decimals written exactly, dates ISO 8601) or ``int``:

    - ``purchase_points``: amount, rate, points (exact amount x rate, before multipliers)
    - ``multiplier``: line, category, amount, source ("weekday" | "category"), weekday
      (0 = Monday, -1 when the source is the category), multiplier, ignored (a lesser matching
      multiplier that did not stack, or ""), points (exact points of the line)
    - ``tier_multiplier``: tier, multiplier, points (exact)
    - ``rounding``: mode, exact, points
    - ``visit``: points
    - ``daily_cap``: cap, earned_today, before, points
    - ``welcome``: points
    - ``birthday``: points, year, birthday (the celebrated date)
    - ``birthday_skipped``: reason ("no_birth_date" | "no_consent" | "outside_window" |
      "already_given"), next (ISO date of the next window's first day, or "")
    - ``total``: points
    - ``refund_proportion``: refund_amount, refunded_total, purchase_amount, earned,
      taken_total, points
    - ``rolling_total``: points, months, since (first local day still in the window)
    - ``tier_reached``: tier, threshold / ``no_tier_reached``: threshold (lowest), missing
    - ``next_tier``: tier, threshold, missing / ``top_tier``: tier
    - ``points_leave_window``: date (last local day they count), points
    - ``tier_kept_until_review``: tier, threshold, review (ISO date of the next review)
    - ``tier_at_risk``: tier, threshold, review, missing
    - ``tier_upgrade`` / ``tier_downgrade``: from, to ("" for no tier) / ``tier_unchanged``: tier
    """

    PURCHASE_POINTS = "purchase_points"
    MULTIPLIER = "multiplier"
    TIER_MULTIPLIER = "tier_multiplier"
    ROUNDING = "rounding"
    VISIT = "visit"
    DAILY_CAP = "daily_cap"
    WELCOME = "welcome"
    BIRTHDAY = "birthday"
    BIRTHDAY_SKIPPED = "birthday_skipped"
    TOTAL = "total"
    REFUND_PROPORTION = "refund_proportion"
    ROLLING_TOTAL = "rolling_total"
    TIER_REACHED = "tier_reached"
    NO_TIER_REACHED = "no_tier_reached"
    NEXT_TIER = "next_tier"
    TOP_TIER = "top_tier"
    POINTS_LEAVE_WINDOW = "points_leave_window"
    TIER_KEPT_UNTIL_REVIEW = "tier_kept_until_review"
    TIER_AT_RISK = "tier_at_risk"
    TIER_UPGRADE = "tier_upgrade"
    TIER_DOWNGRADE = "tier_downgrade"
    TIER_UNCHANGED = "tier_unchanged"


@dataclass(frozen=True)
class Step:
    """One line of an explanation: a code and its parameters (see :class:`StepCode`)."""

    code: StepCode
    params: Mapping[str, str | int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"code": str(self.code), "params": dict(self.params)}


def _dec(value: Decimal) -> str:
    """A decimal written exactly, without exponent or trailing zeros ("12.5", "100")."""
    text = format(value.normalize(), "f")
    return text


# ---------------------------------------------------------------------------------------------
# Dates and time zones
# ---------------------------------------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the last day of the target month.

    2026-01-31 + 1 month = 2026-02-28; 2024-02-29 + 12 months = 2025-02-28.
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def local_date(at: datetime, tz: ZoneInfo) -> date:
    """The calendar day that ``at`` falls on in the organization's time zone."""
    _require_aware(at, "at")
    return at.astimezone(tz).date()


def start_of_local_day(day: date, tz: ZoneInfo) -> datetime:
    """The first instant (in UTC) of local day ``day``.

    Usually local midnight. Where a DST change skips midnight (e.g. America/Santiago) it is the
    transition instant (01:00 local); where midnight happens twice, the first one (fold=0).
    """
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_day_bounds(at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of the local day containing ``at`` (23, 24 or 25 hours long).

    Services use it to sum "points already earned today" for the daily cap.
    """
    day = local_date(at, tz)
    return start_of_local_day(day, tz), start_of_local_day(day + timedelta(days=1), tz)


# ---------------------------------------------------------------------------------------------
# Amounts and program settings
# ---------------------------------------------------------------------------------------------

MAX_AMOUNT = Decimal("1000000")
"""Largest purchase amount accepted (in the currency unit); more is an input error."""
MAX_RATE = Decimal("1000")
MAX_MULTIPLIER = Decimal("100")
MAX_BONUS = 1_000_000
MAX_BIRTHDAY_WINDOW_DAYS = 31
MAX_EXPIRY_MONTHS = 120
TIER_WINDOW_MONTHS = 12


def _check_amount(value: object, field_name: str, *, allow_zero: bool = True) -> Decimal:
    if not isinstance(value, Decimal):
        raise RuleError(
            RuleCode.INVALID_AMOUNT,
            f"{field_name} is not valid: expected a decimal number",
            field=field_name,
        )
    if not value.is_finite():
        raise RuleError(
            RuleCode.INVALID_AMOUNT, f"{field_name} is not valid: not a number", field=field_name
        )
    if value < 0:
        raise RuleError(
            RuleCode.INVALID_AMOUNT,
            f"{field_name} is not valid: must not be negative",
            field=field_name,
        )
    if value == 0 and not allow_zero:
        raise RuleError(
            RuleCode.INVALID_AMOUNT,
            f"{field_name} is not valid: must be greater than zero",
            field=field_name,
        )
    if value > MAX_AMOUNT:
        raise RuleError(
            RuleCode.AMOUNT_TOO_LARGE,
            f"{field_name} is too large: at most {MAX_AMOUNT}",
            field=field_name,
        )
    return value


def _check_int(value: object, field_name: str, *, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RuleError(
            RuleCode.INVALID_RULE,
            f"{field_name} is not valid: expected a whole number from {low} to {high}",
            field=field_name,
        )
    return value


def _check_multiplier(value: object, field_name: str) -> Decimal:
    if (
        not isinstance(value, Decimal)
        or not value.is_finite()
        or not Decimal(0) < value <= MAX_MULTIPLIER
    ):
        raise RuleError(
            RuleCode.INVALID_RULE,
            f"{field_name} is not valid: expected a number above 0 and at most {MAX_MULTIPLIER}",
            field=field_name,
        )
    return value


def normalize_category(category: str) -> str:
    """Categories match case-insensitively, ignoring surrounding spaces."""
    return category.strip().casefold()


class Rounding(StrEnum):
    """How the exact points of a purchase become an integer (applied once per purchase).

    ``floor``: 12.99 -> 12 (the default: the customer never gets a point not fully earned);
    ``half_up``: 12.5 -> 13, 13.5 -> 14; ``half_even``: 12.5 -> 12, 13.5 -> 14.
    """

    FLOOR = "floor"
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"


_DECIMAL_ROUNDING = {
    Rounding.FLOOR: ROUND_FLOOR,
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.HALF_EVEN: ROUND_HALF_EVEN,
}


def round_points(exact: Decimal, mode: Rounding) -> int:
    """Round non-negative exact points to an integer with ``mode``."""
    return int(exact.to_integral_value(rounding=_DECIMAL_ROUNDING[Rounding(mode)]))


@dataclass(frozen=True)
class EarnRules:
    """The earning settings of a program. Constructing one validates it (field names match the
    settings form), so an invalid program cannot exist.

    ``weekday_multipliers`` keys are ``date.weekday()`` numbers (0 = Monday) of the purchase's
    LOCAL day; ``category_multipliers`` keys are product categories (see
    :func:`normalize_category`). Birthday window: from ``birthday_days_before`` days before to
    ``birthday_days_after`` days after the celebrated birthday, inclusive, in local days.
    """

    points_per_euro: Decimal = Decimal(1)
    rounding: Rounding = Rounding.FLOOR
    points_per_visit: int = 0
    weekday_multipliers: Mapping[int, Decimal] = field(default_factory=dict)
    category_multipliers: Mapping[str, Decimal] = field(default_factory=dict)
    daily_cap: int | None = None
    welcome_bonus: int = 0
    birthday_bonus: int = 0
    birthday_days_before: int = 7
    birthday_days_after: int = 7

    def __post_init__(self) -> None:
        rate = self.points_per_euro
        if not isinstance(rate, Decimal) or not rate.is_finite() or not 0 <= rate <= MAX_RATE:
            raise RuleError(
                RuleCode.INVALID_RULE,
                f"points_per_euro is not valid: expected a number from 0 to {MAX_RATE}",
                field="points_per_euro",
            )
        if self.rounding not in _DECIMAL_ROUNDING:
            raise RuleError(
                RuleCode.INVALID_RULE,
                "rounding is not valid: expected floor, half_up or half_even",
                field="rounding",
            )
        _check_int(self.points_per_visit, "points_per_visit", low=0, high=MAX_BONUS)
        for weekday, multiplier in self.weekday_multipliers.items():
            _check_int(weekday, "weekday_multipliers", low=0, high=6)
            _check_multiplier(multiplier, "weekday_multipliers")
        seen: set[str] = set()
        for category, multiplier in self.category_multipliers.items():
            key = normalize_category(category) if isinstance(category, str) else ""
            if not key:
                raise RuleError(
                    RuleCode.INVALID_RULE,
                    "category_multipliers is not valid: a category name is empty",
                    field="category_multipliers",
                )
            if key in seen:
                raise RuleError(
                    RuleCode.INVALID_RULE,
                    f"category_multipliers is not valid: category {category!r} appears twice",
                    field="category_multipliers",
                )
            seen.add(key)
            _check_multiplier(multiplier, "category_multipliers")
        if self.daily_cap is not None:
            _check_int(self.daily_cap, "daily_cap", low=0, high=MAX_BONUS)
        _check_int(self.welcome_bonus, "welcome_bonus", low=0, high=MAX_BONUS)
        _check_int(self.birthday_bonus, "birthday_bonus", low=0, high=MAX_BONUS)
        _check_int(
            self.birthday_days_before, "birthday_days_before", low=0, high=MAX_BIRTHDAY_WINDOW_DAYS
        )
        _check_int(
            self.birthday_days_after, "birthday_days_after", low=0, high=MAX_BIRTHDAY_WINDOW_DAYS
        )

    def category_multiplier(self, category: str | None) -> Decimal | None:
        if category is None:
            return None
        key = normalize_category(category)
        for name, multiplier in self.category_multipliers.items():
            if normalize_category(name) == key:
                return multiplier
        return None


@dataclass(frozen=True)
class PurchaseLine:
    """Part of a purchase: an amount and an optional product category."""

    amount: Decimal
    category: str | None = None


@dataclass(frozen=True)
class Purchase:
    """A purchase to score. Lines are optional; whatever the lines do not cover (amount minus
    the sum of the lines) is an uncategorised part. Lines summing to more than the amount are
    refused (``lines_exceed_amount``). A zero amount is a visit without purchase."""

    amount: Decimal
    at: datetime
    lines: tuple[PurchaseLine, ...] = ()

    def __post_init__(self) -> None:
        _check_amount(self.amount, "amount")
        _require_aware(self.at, "at")
        total = Decimal(0)
        for index, line in enumerate(self.lines):
            total += _check_amount(line.amount, f"lines[{index}].amount")
        if total > self.amount:
            raise RuleError(
                RuleCode.LINES_EXCEED_AMOUNT,
                f"lines is not valid: the lines add up to {total}, more than the amount "
                f"{self.amount}",
                field="lines",
            )

    def scored_lines(self) -> tuple[PurchaseLine, ...]:
        """The lines, plus the uncategorised remainder when the lines do not cover it all."""
        if not self.lines:
            return (PurchaseLine(self.amount),)
        remainder = self.amount - sum((line.amount for line in self.lines), Decimal(0))
        if remainder > 0:
            return (*self.lines, PurchaseLine(remainder))
        return self.lines


# ---------------------------------------------------------------------------------------------
# Tiers (defined before earning: the tier gives a multiplier)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """A tier: reached when the rolling 12-month qualifying total is >= ``threshold``."""

    code: str
    threshold: int
    multiplier: Decimal = Decimal(1)
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise RuleError(
                RuleCode.INVALID_TIERS, "tiers is not valid: a tier has no code", field="tiers"
            )
        if (
            not isinstance(self.threshold, int)
            or isinstance(self.threshold, bool)
            or not 0 <= self.threshold <= 10**9
        ):
            raise RuleError(
                RuleCode.INVALID_TIERS,
                f"tiers is not valid: threshold of {self.code!r} must be a whole number >= 0",
                field="tiers",
            )
        _check_multiplier(self.multiplier, "tiers")


# ---------------------------------------------------------------------------------------------
# Earning
# ---------------------------------------------------------------------------------------------


def birthday_on(birth_date: date, year: int) -> date:
    """The day a birthday is celebrated in ``year``: 29 February becomes 28 February in
    non-leap years (it stays in the customer's birth month)."""
    if birth_date.month == 2 and birth_date.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birth_date.replace(year=year)


@dataclass(frozen=True)
class BirthdayContext:
    """What the birthday rule needs to know about the customer.

    ``consented``: the customer consents to personalised offers (no consent, no bonus).
    ``last_bonus_year``: the birthday year of the last bonus granted (from
    :attr:`Earning.birthday_year`), so the bonus is given once per birthday.
    """

    birth_date: date | None
    consented: bool
    last_bonus_year: int | None = None


@dataclass(frozen=True)
class BirthdayDecision:
    points: int
    year: int | None
    steps: tuple[Step, ...]


def birthday_bonus(
    rules: EarnRules, birthday: BirthdayContext, at: datetime, tz: ZoneInfo
) -> BirthdayDecision:
    """The birthday bonus due at ``at``, if any.

    Due when the program has a bonus, the customer gave a birth date and consents to
    personalised offers, the local day of ``at`` is inside ``[birthday - days_before,
    birthday + days_after]`` of the birthday celebrated in some year Y (see
    :func:`birthday_on`; the window may cross New Year), and no bonus was given for Y yet.
    The decision carries Y: store it and pass it back as ``last_bonus_year``.
    """
    if rules.birthday_bonus == 0:
        return BirthdayDecision(0, None, ())

    def skipped(reason: str, upcoming: date | None = None) -> BirthdayDecision:
        params: dict[str, str | int] = {
            "reason": reason,
            "next": upcoming.isoformat() if upcoming else "",
        }
        return BirthdayDecision(0, None, (Step(StepCode.BIRTHDAY_SKIPPED, params),))

    if birthday.birth_date is None:
        return skipped("no_birth_date")
    if not birthday.consented:
        return skipped("no_consent")
    today = local_date(at, tz)
    before = timedelta(days=rules.birthday_days_before)
    after = timedelta(days=rules.birthday_days_after)
    for year in (today.year - 1, today.year, today.year + 1):
        celebrated = birthday_on(birthday.birth_date, year)
        if celebrated - before <= today <= celebrated + after:
            if birthday.last_bonus_year is not None and birthday.last_bonus_year >= year:
                return skipped("already_given")
            step = Step(
                StepCode.BIRTHDAY,
                {
                    "points": rules.birthday_bonus,
                    "year": year,
                    "birthday": celebrated.isoformat(),
                },
            )
            return BirthdayDecision(rules.birthday_bonus, year, (step,))
    upcoming = birthday_on(birthday.birth_date, today.year) - before
    if upcoming <= today:
        upcoming = birthday_on(birthday.birth_date, today.year + 1) - before
    return skipped("outside_window", upcoming)


@dataclass(frozen=True)
class Earning:
    """What a purchase earns, and why.

    ``points``: the purchase entry (purchase + visit points, after the daily cap) — what a
    full refund takes back. ``welcome_points`` and ``birthday_points`` are separate ledger
    entries with their own cause. ``capped_points``: how many the daily cap removed.
    """

    points: int
    welcome_points: int
    birthday_points: int
    birthday_year: int | None
    capped_points: int
    exact: Decimal
    steps: tuple[Step, ...]

    @property
    def total(self) -> int:
        return self.points + self.welcome_points + self.birthday_points

    def steps_as_dicts(self) -> list[dict[str, object]]:
        return [step.as_dict() for step in self.steps]


def points_for_purchase(
    rules: EarnRules,
    purchase: Purchase,
    tz: ZoneInfo,
    *,
    tier: Tier | None = None,
    earned_today: int = 0,
    welcome_due: bool = False,
    birthday: BirthdayContext | None = None,
) -> Earning:
    """Score a purchase (also the "simulate" panel).

    1. Each line: ``amount x points_per_euro x m`` where ``m`` is the LARGEST multiplier that
       matches the line (the weekday of the purchase's local day, or the line's category), or
       1 if none matches. Multipliers do not stack: a Saturday x2 and a "bread" x3 give x3.
    2. The sum is multiplied by the tier's multiplier (stacks on top of step 1).
    3. Rounded once, per purchase, with ``rules.rounding``.
    4. ``points_per_visit`` is added (not multiplied).
    5. Daily cap: purchase + visit points are limited to ``daily_cap - earned_today``
       (never below 0), where ``earned_today`` is what the customer already earned from
       purchases and visits on the same LOCAL day (see :func:`local_day_bounds`). Bonuses are
       not capped.
    6. Welcome bonus when ``welcome_due``; birthday bonus per :func:`birthday_bonus`.
    """
    if not isinstance(earned_today, int) or earned_today < 0:
        raise ValueError("earned_today must be a non-negative int")
    steps: list[Step] = []
    rate = rules.points_per_euro
    weekday = local_date(purchase.at, tz).weekday()
    weekday_multiplier = rules.weekday_multipliers.get(weekday)
    with localcontext(prec=60):
        base = purchase.amount * rate
        steps.append(
            Step(
                StepCode.PURCHASE_POINTS,
                {"amount": _dec(purchase.amount), "rate": _dec(rate), "points": _dec(base)},
            )
        )
        exact = Decimal(0)
        for index, line in enumerate(purchase.scored_lines()):
            candidates: list[tuple[str, Decimal]] = []
            if weekday_multiplier is not None:
                candidates.append(("weekday", weekday_multiplier))
            category_multiplier = rules.category_multiplier(line.category)
            if category_multiplier is not None:
                candidates.append(("category", category_multiplier))
            line_points = line.amount * rate
            if candidates:
                # Stable max: on a tie the weekday multiplier is named.
                source, multiplier = max(candidates, key=lambda c: c[1])
                ignored = [m for s, m in candidates if s != source]
                line_points *= multiplier
                steps.append(
                    Step(
                        StepCode.MULTIPLIER,
                        {
                            "line": index,
                            "category": line.category or "",
                            "amount": _dec(line.amount),
                            "source": source,
                            "weekday": weekday if source == "weekday" else -1,
                            "multiplier": _dec(multiplier),
                            "ignored": _dec(ignored[0]) if ignored else "",
                            "points": _dec(line_points),
                        },
                    )
                )
            exact += line_points
        if tier is not None and tier.multiplier != 1:
            exact *= tier.multiplier
            steps.append(
                Step(
                    StepCode.TIER_MULTIPLIER,
                    {"tier": tier.code, "multiplier": _dec(tier.multiplier), "points": _dec(exact)},
                )
            )
    rounded = round_points(exact, rules.rounding)
    steps.append(
        Step(
            StepCode.ROUNDING,
            {"mode": str(rules.rounding), "exact": _dec(exact), "points": rounded},
        )
    )
    points = rounded
    if rules.points_per_visit:
        points += rules.points_per_visit
        steps.append(Step(StepCode.VISIT, {"points": rules.points_per_visit}))
    capped = 0
    if rules.daily_cap is not None:
        allowed = max(0, rules.daily_cap - earned_today)
        if points > allowed:
            capped = points - allowed
            steps.append(
                Step(
                    StepCode.DAILY_CAP,
                    {
                        "cap": rules.daily_cap,
                        "earned_today": earned_today,
                        "before": points,
                        "points": allowed,
                    },
                )
            )
            points = allowed
    welcome = rules.welcome_bonus if welcome_due else 0
    if welcome:
        steps.append(Step(StepCode.WELCOME, {"points": welcome}))
    birthday_points, birthday_year = 0, None
    if birthday is not None:
        decision = birthday_bonus(rules, birthday, purchase.at, tz)
        birthday_points, birthday_year = decision.points, decision.year
        steps.extend(decision.steps)
    steps.append(Step(StepCode.TOTAL, {"points": points + welcome + birthday_points}))
    return Earning(
        points=points,
        welcome_points=welcome,
        birthday_points=birthday_points,
        birthday_year=birthday_year,
        capped_points=capped,
        exact=exact,
        steps=tuple(steps),
    )


# ---------------------------------------------------------------------------------------------
# Refunds
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundPoints:
    """Points a refund takes back, and the purchase's state after it (cumulative figures)."""

    points: int
    refunded_total: Decimal
    remaining_amount: Decimal
    taken_total: int
    remaining_points: int
    steps: tuple[Step, ...]

    @property
    def full(self) -> bool:
        """True when this refund completes the refund of the whole purchase."""
        return self.remaining_amount == 0


def refund_points(
    *,
    purchase_amount: Decimal,
    earned_points: int,
    refund_amount: Decimal,
    refunded_before: Decimal = Decimal(0),
    taken_before: int = 0,
) -> RefundPoints:
    """Points to take back for a (partial) refund of a purchase that earned ``earned_points``.

    Rule: after refunding a cumulative amount R of a purchase of amount A, the total taken
    back is ``ceil(earned x R / A)``, computed exactly (fractions, no float). Consequences:
    each refund takes back ``target - taken_before`` (never negative), the sum of partial
    refunds never exceeds ``earned_points``, and the refund that brings R to A takes back
    exactly what remains. The customer keeps ``floor(earned x (A - R) / A)``: what the kept
    goods would have earned, rounded down like the default earning rounding.

    Refusals (nothing to write): a refund amount that is not a positive decimal
    (``invalid_amount``) or larger than what remains refundable (``refund_exceeds_purchase``),
    both on field ``amount``.
    """
    _check_amount(purchase_amount, "purchase_amount")
    _check_amount(refund_amount, "amount", allow_zero=False)
    _check_amount(refunded_before, "refunded_before")
    if not isinstance(earned_points, int) or earned_points < 0:
        raise RuleError(
            RuleCode.INVALID_POINTS,
            "earned_points is not valid: must be a whole number >= 0",
            field="earned_points",
        )
    if not isinstance(taken_before, int) or not 0 <= taken_before <= earned_points:
        raise RuleError(
            RuleCode.INVALID_POINTS,
            "taken_before is not valid: must be between 0 and the points earned",
            field="taken_before",
        )
    refundable = purchase_amount - refunded_before
    if refundable < 0:
        raise RuleError(
            RuleCode.REFUND_EXCEEDS_PURCHASE,
            "refunded_before is not valid: more than the purchase amount",
            field="refunded_before",
        )
    if refund_amount > refundable:
        raise RuleError(
            RuleCode.REFUND_EXCEEDS_PURCHASE,
            f"amount is too large: only {refundable} of this purchase can still be refunded",
            field="amount",
        )
    refunded_total = refunded_before + refund_amount
    if refunded_total == purchase_amount:
        target = earned_points
    else:
        target = math.ceil(
            Fraction(earned_points) * Fraction(refunded_total) / Fraction(purchase_amount)
        )
    points = min(max(target - taken_before, 0), earned_points - taken_before)
    taken_total = taken_before + points
    step = Step(
        StepCode.REFUND_PROPORTION,
        {
            "refund_amount": _dec(refund_amount),
            "refunded_total": _dec(refunded_total),
            "purchase_amount": _dec(purchase_amount),
            "earned": earned_points,
            "taken_total": taken_total,
            "points": points,
        },
    )
    return RefundPoints(
        points=points,
        refunded_total=refunded_total,
        remaining_amount=purchase_amount - refunded_total,
        taken_total=taken_total,
        remaining_points=earned_points - taken_total,
        steps=(step,),
    )


# ---------------------------------------------------------------------------------------------
# Expiry and first earned, first spent
# ---------------------------------------------------------------------------------------------


def _check_months(months: int) -> int:
    return _check_int(months, "expiry_months", low=1, high=MAX_EXPIRY_MONTHS)


def last_valid_day(earned_at: datetime, months: int, tz: ZoneInfo) -> date:
    """The last LOCAL day on which points earned at ``earned_at`` can be used:
    the local earning day plus ``months`` months, clamped to the month end."""
    return add_months(local_date(earned_at, tz), _check_months(months))


def expiry_instant(earned_at: datetime, months: int, tz: ZoneInfo) -> datetime:
    """The instant (UTC) at which points earned at ``earned_at`` are expired.

    It is the start of the local day after :func:`last_valid_day`: points earned any time on
    2026-01-31 in Paris with 1 month are valid until 2026-02-28 23:59:59.999999 local time and
    expired from 2026-03-01 00:00 local (2026-02-28T23:00Z). Points are usable while
    ``now < expiry_instant`` and due for expiry when ``now >= expiry_instant``.
    """
    return start_of_local_day(last_valid_day(earned_at, months, tz) + timedelta(days=1), tz)


BatchId = int | str


@dataclass(frozen=True)
class EarnBatch:
    """Points credited together (one ledger entry), expiring together.

    ``expires_at`` is stored with the batch when it is earned (see :meth:`earned`), so a later
    change of the program's expiry setting does not move points already earned. ``None``:
    these points never expire.
    """

    id: BatchId
    points: int
    earned_at: datetime
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.points, int) or isinstance(self.points, bool) or self.points <= 0:
            raise RuleError(
                RuleCode.INVALID_POINTS, "points is not valid: must be above 0", field="points"
            )
        _require_aware(self.earned_at, "earned_at")
        if self.expires_at is not None:
            _require_aware(self.expires_at, "expires_at")

    @classmethod
    def earned(
        cls,
        id: BatchId,
        points: int,
        earned_at: datetime,
        *,
        months: int | None,
        tz: ZoneInfo,
    ) -> EarnBatch:
        """A batch whose expiry follows :func:`expiry_instant` (``months=None``: never)."""
        expires = None if months is None else expiry_instant(earned_at, months, tz)
        return cls(id=id, points=points, earned_at=earned_at, expires_at=expires)

    def is_live(self, at: datetime) -> bool:
        """Can these points be used at ``at``?"""
        return self.expires_at is None or at < self.expires_at


class DebitKind(StrEnum):
    SPEND = "spend"
    EXPIRY = "expiry"
    REFUND = "refund"


@dataclass(frozen=True)
class Debit:
    """Points leaving the balance.

    ``spend`` (a redemption): from live batches, first earned first; refused when the live
    balance is insufficient. ``expiry``: from the batch ``batch_id`` only, which must be due.
    ``refund``: from the refunded purchase's batch ``batch_id`` first, then first earned
    first; it takes at most the live balance and reports the rest as a shortfall (a balance
    never goes negative).
    """

    kind: DebitKind
    points: int
    at: datetime
    batch_id: BatchId | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.points, int) or isinstance(self.points, bool) or self.points <= 0:
            raise RuleError(
                RuleCode.INVALID_POINTS, "points is not valid: must be above 0", field="points"
            )
        _require_aware(self.at, "at")
        if self.kind == DebitKind.EXPIRY and self.batch_id is None:
            raise RuleError(
                RuleCode.UNKNOWN_BATCH,
                "batch_id is required: an expiry names the batch that expires",
                field="batch_id",
            )


@dataclass(frozen=True)
class Allocation:
    batch_id: BatchId
    points: int


@dataclass(frozen=True)
class DebitResult:
    """How a debit was taken: from which batches, and what could not be taken (refunds)."""

    debit: Debit
    allocations: tuple[Allocation, ...]
    shortfall: int = 0

    @property
    def taken(self) -> int:
        return sum(a.points for a in self.allocations)


@dataclass(frozen=True)
class BatchBalance:
    """A batch after the debits: what remains and where the rest went."""

    batch: EarnBatch
    remaining: int
    spent: int
    expired: int
    refunded: int

    @property
    def id(self) -> BatchId:
        return self.batch.id


@dataclass(frozen=True)
class ExpiryLine:
    """Points that expire together: usable through ``last_day`` (local), gone at
    ``expires_at`` (UTC)."""

    last_day: date
    expires_at: datetime
    points: int


@dataclass
class _LiveBatch:
    batch: EarnBatch
    order: int
    remaining: int
    spent: int = 0
    expired: int = 0
    refunded: int = 0

    def take(self, kind: DebitKind, points: int) -> None:
        self.remaining -= points
        if kind == DebitKind.SPEND:
            self.spent += points
        elif kind == DebitKind.EXPIRY:
            self.expired += points
        else:
            self.refunded += points


def _fifo_key(batch: _LiveBatch) -> tuple[datetime, int]:
    return (batch.batch.earned_at.astimezone(UTC), batch.order)


@dataclass(frozen=True)
class PointsState:
    """Batches and debits replayed: remaining points per batch, and what each debit took."""

    batches: tuple[BatchBalance, ...]
    debits: tuple[DebitResult, ...]

    @property
    def balance(self) -> int:
        """Points remaining (including points due for expiry but not yet recorded)."""
        return sum(b.remaining for b in self.batches)

    @property
    def earned(self) -> int:
        return sum(b.batch.points for b in self.batches)

    @property
    def spent(self) -> int:
        return sum(b.spent for b in self.batches)

    @property
    def expired(self) -> int:
        return sum(b.expired for b in self.batches)

    @property
    def refunded(self) -> int:
        return sum(b.refunded for b in self.batches)

    def available_at(self, now: datetime) -> int:
        """Points usable at ``now`` (excludes points whose expiry is due)."""
        _require_aware(now, "now")
        return sum(b.remaining for b in self.batches if b.batch.is_live(now))

    def due_expiries(self, now: datetime) -> tuple[Debit, ...]:
        """The expiry debits to record at ``now``: every batch with points left whose
        ``expires_at <= now``, oldest expiry first. Each debit is dated at the batch's
        expiry instant. Services record them before any other debit."""
        _require_aware(now, "now")
        due: list[tuple[datetime, datetime, BatchBalance]] = []
        for b in self.batches:
            expires = b.batch.expires_at
            if b.remaining > 0 and expires is not None and expires <= now:
                due.append((expires.astimezone(UTC), b.batch.earned_at.astimezone(UTC), b))
        due.sort(key=lambda item: (item[0], item[1]))
        return tuple(
            Debit(DebitKind.EXPIRY, b.remaining, expires, batch_id=b.id) for expires, _, b in due
        )

    def schedule(self, tz: ZoneInfo) -> tuple[ExpiryLine, ...]:
        """Remaining points by local last day of validity, soonest first (points that never
        expire are not listed)."""
        by_day: dict[date, tuple[datetime, int]] = {}
        for b in self.batches:
            expires = b.batch.expires_at
            if b.remaining <= 0 or expires is None:
                continue
            day = (expires.astimezone(UTC) - timedelta(microseconds=1)).astimezone(tz).date()
            first, points = by_day.get(day, (expires, 0))
            by_day[day] = (min(first, expires), points + b.remaining)
        return tuple(
            ExpiryLine(day, first.astimezone(UTC), points)
            for day, (first, points) in sorted(by_day.items())
        )


def _apply_debit(batches: dict[BatchId, _LiveBatch], debit: Debit) -> DebitResult:
    if debit.kind == DebitKind.EXPIRY:
        assert debit.batch_id is not None  # checked by Debit
        target = batches.get(debit.batch_id)
        if target is None:
            raise RuleError(
                RuleCode.UNKNOWN_BATCH,
                f"batch_id is not valid: no earlier batch {debit.batch_id!r}",
                field="batch_id",
            )
        expires = target.batch.expires_at
        if expires is None or debit.at < expires:
            raise RuleError(
                RuleCode.EXPIRY_NOT_DUE,
                f"at is not valid: batch {debit.batch_id!r} is not due for expiry then",
                field="at",
            )
        if debit.points > target.remaining:
            raise RuleError(
                RuleCode.EXPIRY_EXCEEDS_BATCH,
                f"points is too large: batch {debit.batch_id!r} has {target.remaining} left",
                field="points",
            )
        target.take(debit.kind, debit.points)
        return DebitResult(debit, (Allocation(target.batch.id, debit.points),))

    order = sorted(
        (b for b in batches.values() if b.remaining > 0 and b.batch.is_live(debit.at)),
        key=_fifo_key,
    )
    if debit.kind == DebitKind.REFUND and debit.batch_id is not None:
        if debit.batch_id not in batches:
            raise RuleError(
                RuleCode.UNKNOWN_BATCH,
                f"batch_id is not valid: no earlier batch {debit.batch_id!r}",
                field="batch_id",
            )
        own = [b for b in order if b.batch.id == debit.batch_id]
        order = own + [b for b in order if b.batch.id != debit.batch_id]
    available = sum(b.remaining for b in order)
    if debit.kind == DebitKind.SPEND and debit.points > available:
        raise RuleError(
            RuleCode.INSUFFICIENT_POINTS,
            f"points is too large: {debit.points} requested, {available} available",
            field="points",
        )
    wanted = debit.points
    allocations: list[Allocation] = []
    for live in order:
        if wanted == 0:
            break
        take = min(wanted, live.remaining)
        live.take(debit.kind, take)
        allocations.append(Allocation(live.batch.id, take))
        wanted -= take
    return DebitResult(debit, tuple(allocations), shortfall=wanted)


def replay(entries: Iterable[EarnBatch | Debit]) -> PointsState:
    """Replay a customer's ledger, in ledger order, into remaining points per batch.

    A debit can only use batches that appear BEFORE it in ``entries`` and are live at the
    debit's ``at``. Invariants (property-tested): every remaining is >= 0, and
    ``balance == earned - spent - expired - refunded``. Raises :class:`RuleError` for a spend
    above the live balance or an expiry that is unknown, not due or too large.
    """
    batches: dict[BatchId, _LiveBatch] = {}
    results: list[DebitResult] = []
    for entry in entries:
        if isinstance(entry, EarnBatch):
            if entry.id in batches:
                raise RuleError(
                    RuleCode.DUPLICATE_BATCH,
                    f"id is not valid: batch {entry.id!r} appears twice",
                    field="id",
                )
            batches[entry.id] = _LiveBatch(entry, len(batches), entry.points)
        else:
            results.append(_apply_debit(batches, entry))
    return PointsState(
        batches=tuple(
            BatchBalance(b.batch, b.remaining, b.spent, b.expired, b.refunded)
            for b in batches.values()
        ),
        debits=tuple(results),
    )


# ---------------------------------------------------------------------------------------------
# Tiers
# ---------------------------------------------------------------------------------------------


def sort_tiers(tiers: Iterable[Tier]) -> tuple[Tier, ...]:
    """Tiers by increasing threshold; refuses duplicate codes or thresholds."""
    ordered = tuple(sorted(tiers, key=lambda t: t.threshold))
    codes = [t.code for t in ordered]
    if len(set(codes)) != len(codes):
        raise RuleError(
            RuleCode.INVALID_TIERS, "tiers is not valid: two tiers share a code", field="tiers"
        )
    thresholds = [t.threshold for t in ordered]
    if len(set(thresholds)) != len(thresholds):
        raise RuleError(
            RuleCode.INVALID_TIERS,
            "tiers is not valid: two tiers share a threshold",
            field="tiers",
        )
    return ordered


def tier_for_total(tiers: Iterable[Tier], total: int) -> Tier | None:
    """The highest tier whose threshold is <= ``total`` (equality reaches the tier), or
    ``None`` when the total is below every threshold."""
    reached = None
    for tier in sort_tiers(tiers):
        if total >= tier.threshold:
            reached = tier
    return reached


@dataclass(frozen=True)
class QualifyingPoints:
    """Points that count toward tiers: positive for an earn, negative for a refund's
    take-back. ``earned_at`` is when the ORIGINAL points were earned (for a refund: its
    purchase's time), so a refund only reduces the window while its purchase is in it.
    Services decide which earns qualify (purchases and visits; not bonuses)."""

    points: int
    earned_at: datetime

    def __post_init__(self) -> None:
        _require_aware(self.earned_at, "earned_at")


def window_end(earned_at: datetime, tz: ZoneInfo) -> datetime:
    """When points earned at ``earned_at`` leave the rolling window: same rule as expiry with
    12 months (they count through the end of the local day 12 months later)."""
    return expiry_instant(earned_at, TIER_WINDOW_MONTHS, tz)


def rolling_total(entries: Iterable[QualifyingPoints], now: datetime, tz: ZoneInfo) -> int:
    """Qualifying points in the window at ``now`` (never below 0)."""
    _require_aware(now, "now")
    total = sum(e.points for e in entries if e.earned_at <= now < window_end(e.earned_at, tz))
    return max(0, total)


def window_first_day(today: date) -> date:
    """The earliest local earning day still counted in the window on local day ``today``
    (usually ``today`` minus 12 months; on 29 February, 1 March of the previous year)."""
    first = add_months(today, -TIER_WINDOW_MONTHS)
    while add_months(first, TIER_WINDOW_MONTHS) < today:
        first += timedelta(days=1)
    return first


def review_instant(now: datetime, tz: ZoneInfo) -> datetime:
    """The latest monthly review at or before ``now``: the start of the 1st of the current
    local month. A member whose last review is older than this is due for review."""
    today = local_date(now, tz)
    return start_of_local_day(today.replace(day=1), tz)


def next_review_instant(now: datetime, tz: ZoneInfo) -> datetime:
    """The first monthly review strictly after ``now``."""
    today = local_date(now, tz)
    return start_of_local_day(add_months(today.replace(day=1), 1), tz)


class TierTrigger(StrEnum):
    """Why a tier is re-evaluated. ``earn`` and ``refund`` may only upgrade; the monthly
    ``review`` sets the tier to the one the rolling total reaches (may downgrade)."""

    EARN = "earn"
    REFUND = "refund"
    REVIEW = "review"


class TierChange(StrEnum):
    UP = "up"
    DOWN = "down"
    SAME = "same"


@dataclass(frozen=True)
class TierDecision:
    tier: Tier | None
    previous: Tier | None
    total: int
    change: TierChange
    steps: tuple[Step, ...]


def _find_tier(tiers: Sequence[Tier], code: str | None) -> Tier | None:
    if code is None:
        return None
    return next((t for t in tiers if t.code == code), None)


def _rank(tier: Tier | None) -> int:
    return -1 if tier is None else tier.threshold


def evaluate_tier(
    tiers: Iterable[Tier],
    current_code: str | None,
    entries: Iterable[QualifyingPoints],
    now: datetime,
    tz: ZoneInfo,
    *,
    trigger: TierTrigger,
) -> TierDecision:
    """The member's tier after ``trigger`` at ``now``.

    ``earn``/``refund``: the higher of the current tier and the tier the rolling total
    reaches (never a downgrade between reviews). ``review`` (1st of the month, see
    :func:`review_instant`): exactly the tier the rolling total reaches — a member is
    downgraded only then, and only when the total is below the current tier's threshold. A
    current code that no longer exists counts as no tier.
    """
    ordered = sort_tiers(tiers)
    entries = tuple(entries)
    previous = _find_tier(ordered, current_code)
    total = rolling_total(entries, now, tz)
    reached = tier_for_total(ordered, total)
    if trigger == TierTrigger.REVIEW:
        tier = reached
    else:
        tier = reached if _rank(reached) > _rank(previous) else previous
    if _rank(tier) > _rank(previous):
        change = TierChange.UP
        step = Step(
            StepCode.TIER_UPGRADE,
            {"from": previous.code if previous else "", "to": tier.code if tier else ""},
        )
    elif _rank(tier) < _rank(previous):
        change = TierChange.DOWN
        step = Step(
            StepCode.TIER_DOWNGRADE,
            {"from": previous.code if previous else "", "to": tier.code if tier else ""},
        )
    else:
        change = TierChange.SAME
        step = Step(StepCode.TIER_UNCHANGED, {"tier": tier.code if tier else ""})
    status = tier_status(ordered, tier.code if tier else None, entries, now, tz)
    return TierDecision(tier, previous, total, change, (*status.steps, step))


@dataclass(frozen=True)
class WindowDrop:
    """Qualifying points that count through local day ``last_day`` and leave the window at
    ``leaves_at`` (UTC)."""

    last_day: date
    leaves_at: datetime
    points: int


@dataclass(frozen=True)
class TierStatus:
    """Everything the customer's "why am I in this tier" panel shows.

    ``missing``: points still needed for ``next_tier`` (0 when already reached, the upgrade
    happens on the next earn or review). ``drops``: upcoming departures from the window, the
    first one being the date by which current points start dropping out.
    ``total_at_review``: the total at the next review if nothing is earned meanwhile;
    ``missing_to_keep``: points to earn before then to keep the current tier.
    """

    tier: Tier | None
    reached: Tier | None
    total: int
    next_tier: Tier | None
    missing: int
    drops: tuple[WindowDrop, ...]
    next_review: datetime
    total_at_review: int
    missing_to_keep: int
    steps: tuple[Step, ...]

    @property
    def next_drop(self) -> WindowDrop | None:
        return self.drops[0] if self.drops else None


def tier_status(
    tiers: Iterable[Tier],
    current_code: str | None,
    entries: Iterable[QualifyingPoints],
    now: datetime,
    tz: ZoneInfo,
) -> TierStatus:
    """Read-only explanation of the member's tier at ``now`` (changes nothing)."""
    ordered = sort_tiers(tiers)
    entries = tuple(entries)
    current = _find_tier(ordered, current_code)
    total = rolling_total(entries, now, tz)
    reached = tier_for_total(ordered, total)
    review = next_review_instant(now, tz)
    since = window_first_day(local_date(now, tz))
    steps: list[Step] = [
        Step(
            StepCode.ROLLING_TOTAL,
            {"points": total, "months": TIER_WINDOW_MONTHS, "since": since.isoformat()},
        )
    ]
    if reached is not None:
        steps.append(
            Step(StepCode.TIER_REACHED, {"tier": reached.code, "threshold": reached.threshold})
        )
    elif ordered:
        steps.append(
            Step(
                StepCode.NO_TIER_REACHED,
                {"threshold": ordered[0].threshold, "missing": ordered[0].threshold - total},
            )
        )
    above = [t for t in ordered if t.threshold > _rank(current)]
    next_tier = above[0] if above else None
    missing = max(0, next_tier.threshold - total) if next_tier else 0
    if next_tier is not None:
        steps.append(
            Step(
                StepCode.NEXT_TIER,
                {"tier": next_tier.code, "threshold": next_tier.threshold, "missing": missing},
            )
        )
    elif current is not None:
        steps.append(Step(StepCode.TOP_TIER, {"tier": current.code}))

    by_day: dict[date, tuple[datetime, int]] = {}
    for entry in entries:
        leaves = window_end(entry.earned_at, tz)
        if entry.earned_at <= now < leaves:
            day = (leaves - timedelta(microseconds=1)).astimezone(tz).date()
            first, points = by_day.get(day, (leaves, 0))
            by_day[day] = (min(first, leaves), points + entry.points)
    drops = tuple(
        WindowDrop(day, leaves, points)
        for day, (leaves, points) in sorted(by_day.items())
        if points > 0
    )
    leaving_before_review = sum(d.points for d in drops if d.leaves_at <= review)
    total_at_review = max(0, total - leaving_before_review)
    missing_to_keep = max(0, current.threshold - total_at_review) if current else 0
    if drops:
        steps.append(
            Step(
                StepCode.POINTS_LEAVE_WINDOW,
                {"date": drops[0].last_day.isoformat(), "points": drops[0].points},
            )
        )
    review_day = local_date(review, tz).isoformat()
    if current is not None and total < current.threshold:
        steps.append(
            Step(
                StepCode.TIER_KEPT_UNTIL_REVIEW,
                {"tier": current.code, "threshold": current.threshold, "review": review_day},
            )
        )
    elif current is not None and missing_to_keep > 0:
        steps.append(
            Step(
                StepCode.TIER_AT_RISK,
                {
                    "tier": current.code,
                    "threshold": current.threshold,
                    "review": review_day,
                    "missing": missing_to_keep,
                },
            )
        )
    return TierStatus(
        tier=current,
        reached=reached,
        total=total,
        next_tier=next_tier,
        missing=missing,
        drops=drops,
        next_review=review,
        total_at_review=total_at_review,
        missing_to_keep=missing_to_keep,
        steps=tuple(steps),
    )


# ---------------------------------------------------------------------------------------------
# Card numbers
# ---------------------------------------------------------------------------------------------

CARD_NUMBER_LENGTH = 12
_DIGITS = "0123456789"


def luhn_check_digit(body: str) -> str:
    """The Luhn check digit to append to ``body`` (ASCII digits)."""
    total = 0
    # The check digit will be rightmost, so the body's rightmost digit is doubled.
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_luhn_valid(number: str) -> bool:
    """True when ``number`` (ASCII digits, at least 2) ends with its Luhn check digit.

    Luhn detects every single-digit error and every transposition of two adjacent digits
    except ``09`` <-> ``90`` (both sum the same); it does not detect every twin error
    (``22`` <-> ``55``, ``33`` <-> ``66``, ``44`` <-> ``77``) nor jump transpositions.
    """
    if len(number) < 2 or any(c not in _DIGITS for c in number):
        return False
    return luhn_check_digit(number[:-1]) == number[-1]


def generate_card_number(rng: random.Random | None = None) -> str:
    """A new 12-digit card number: a non-zero first digit (no leading zero to lose in a
    spreadsheet), 10 random digits, a Luhn check digit. Random, not sequential, and carrying
    nothing about the organization: uniqueness is the database's job (retry on collision).
    ``rng`` is for tests; the default is the ``secrets`` generator."""
    if rng is None:
        # The same uniform draw as digit by digit, from one read of the system's randomness
        # (an import issues thousands of cards in one batch).
        low = 10 ** (CARD_NUMBER_LENGTH - 2)
        body = str(low + secrets.randbelow(9 * low))
    else:
        choose = rng.choice
        body = choose("123456789") + "".join(choose(_DIGITS) for _ in range(CARD_NUMBER_LENGTH - 2))
    return body + luhn_check_digit(body)


def normalize_card_number(raw: str) -> str:
    """Remove what people type between digit groups (spaces, hyphens, dots)."""
    return "".join(c for c in raw if c not in " \t-.\u00a0\u202f")


def validate_card_number(raw: str) -> str:
    """The normalized card number, or :class:`RuleError` on field ``card_number``."""
    number = normalize_card_number(raw)
    if not number:
        raise RuleError(
            RuleCode.INVALID_CARD_NUMBER, "card_number is required", field="card_number"
        )
    if any(c not in _DIGITS for c in number):
        raise RuleError(
            RuleCode.INVALID_CARD_NUMBER,
            "card_number is not valid: only digits are allowed",
            field="card_number",
        )
    if len(number) != CARD_NUMBER_LENGTH:
        raise RuleError(
            RuleCode.INVALID_CARD_NUMBER,
            f"card_number is not valid: expected {CARD_NUMBER_LENGTH} digits, got {len(number)}",
            field="card_number",
        )
    if not is_luhn_valid(number):
        raise RuleError(
            RuleCode.INVALID_CARD_NUMBER,
            "card_number is not valid: the check digit does not match (a typing error?)",
            field="card_number",
        )
    return number


def format_card_number(number: str) -> str:
    """Groups of four for printing and reading aloud: ``1234 5678 9012``."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
