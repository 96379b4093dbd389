"""Unit tests of the pure loyalty rules: boundaries first, then properties (hypothesis)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cueillette.core.errors import ServiceError
from cueillette.loyalty import rules
from cueillette.loyalty.rules import (
    BirthdayContext,
    Debit,
    DebitKind,
    EarnBatch,
    EarnRules,
    Purchase,
    PurchaseLine,
    QualifyingPoints,
    Rounding,
    RuleCode,
    RuleError,
    StepCode,
    Tier,
    TierChange,
    TierTrigger,
)

PARIS = ZoneInfo("Europe/Paris")
NOUMEA = ZoneInfo("Pacific/Noumea")  # UTC+11, no DST
SANTIAGO = ZoneInfo("America/Santiago")  # DST changes at local midnight
HAVANA = ZoneInfo("America/Havana")  # DST changes at local midnight, midnight happens twice
D = Decimal


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def codes(steps: tuple[rules.Step, ...]) -> list[str]:
    return [str(s.code) for s in steps]


def step(steps: tuple[rules.Step, ...], code: StepCode) -> rules.Step:
    return next(s for s in steps if s.code == code)


# --------------------------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    ("exact", "mode", "expected"),
    [
        ("12.5", Rounding.FLOOR, 12),
        ("12.5", Rounding.HALF_UP, 13),
        ("12.5", Rounding.HALF_EVEN, 12),
        ("13.5", Rounding.FLOOR, 13),
        ("13.5", Rounding.HALF_UP, 14),
        ("13.5", Rounding.HALF_EVEN, 14),
        ("0.5", Rounding.FLOOR, 0),
        ("0.5", Rounding.HALF_UP, 1),
        ("0.5", Rounding.HALF_EVEN, 0),
        ("1.5", Rounding.HALF_EVEN, 2),
        ("12.4999999", Rounding.HALF_UP, 12),
        ("12.5000001", Rounding.HALF_EVEN, 13),
        ("12.99", Rounding.FLOOR, 12),
        ("12.99", Rounding.HALF_UP, 13),
        ("12", Rounding.FLOOR, 12),
        ("12", Rounding.HALF_UP, 12),
        ("0", Rounding.HALF_EVEN, 0),
    ],
)
def test_round_points(exact: str, mode: Rounding, expected: int) -> None:
    assert rules.round_points(D(exact), mode) == expected


@pytest.mark.parametrize(
    ("mode", "expected"),
    [(Rounding.FLOOR, 12), (Rounding.HALF_UP, 13), (Rounding.HALF_EVEN, 12)],
)
def test_purchase_rounding_is_once_per_purchase(mode: Rounding, expected: int) -> None:
    # Two lines of 6.25 each: per-line rounding would give 6+6 (floor) or 6+6 (half_even).
    program = EarnRules(points_per_euro=D(1), rounding=mode)
    purchase = Purchase(
        D("12.50"),
        paris(2026, 3, 4, 10),
        lines=(PurchaseLine(D("6.25"), "a"), PurchaseLine(D("6.25"), "b")),
    )
    earning = rules.points_for_purchase(program, purchase, PARIS)
    assert earning.points == expected
    assert earning.exact == D("12.5")
    assert step(earning.steps, StepCode.ROUNDING).params == {
        "mode": str(mode),
        "exact": "12.5",
        "points": expected,
    }


def test_default_rounding_is_floor() -> None:
    assert EarnRules().rounding == Rounding.FLOOR
    earning = rules.points_for_purchase(EarnRules(), Purchase(D("9.99"), paris(2026, 1, 5)), PARIS)
    assert earning.points == 9


# --------------------------------------------------------------------------------- earning


def test_points_per_euro_and_visit_and_steps() -> None:
    program = EarnRules(points_per_euro=D("1.5"), points_per_visit=5)
    earning = rules.points_for_purchase(program, Purchase(D("10.00"), paris(2026, 1, 5)), PARIS)
    assert earning.points == 15 + 5
    assert codes(earning.steps) == ["purchase_points", "rounding", "visit", "total"]
    assert step(earning.steps, StepCode.PURCHASE_POINTS).params == {
        "amount": "10",
        "rate": "1.5",
        "points": "15",
    }
    assert step(earning.steps, StepCode.TOTAL).params == {"points": 20}
    assert earning.steps[0].as_dict() == {
        "code": "purchase_points",
        "params": {"amount": "10", "rate": "1.5", "points": "15"},
    }


def test_zero_amount_is_a_visit() -> None:
    program = EarnRules(points_per_visit=3)
    earning = rules.points_for_purchase(program, Purchase(D(0), paris(2026, 1, 5)), PARIS)
    assert earning.points == 3


def test_weekday_uses_local_day() -> None:
    # Saturday x2. 2026-01-02 23:30 UTC is Saturday 00:30 in Paris but Friday in UTC.
    program = EarnRules(weekday_multipliers={5: D(2)})
    at = datetime(2026, 1, 2, 23, 30, tzinfo=UTC)
    assert rules.points_for_purchase(program, Purchase(D(10), at), PARIS).points == 20
    assert rules.points_for_purchase(program, Purchase(D(10), at), ZoneInfo("UTC")).points == 10


def test_best_multiplier_wins_and_does_not_stack() -> None:
    program = EarnRules(
        weekday_multipliers={5: D(2)},
        category_multipliers={"Bread": D(3), "wine": D("1.5")},
    )
    saturday = paris(2026, 1, 3, 11)
    purchase = Purchase(
        D(30),
        saturday,
        lines=(PurchaseLine(D(10), " bread "), PurchaseLine(D(10), "WINE")),
    )
    earning = rules.points_for_purchase(program, purchase, PARIS)
    # bread: x3 (category beats weekday, not x6); wine: x2 (weekday beats 1.5);
    # uncategorised remainder 10: x2 (weekday).
    assert earning.points == 30 + 20 + 20
    multipliers = [s.params for s in earning.steps if s.code == StepCode.MULTIPLIER]
    assert [(m["source"], m["multiplier"], m["ignored"]) for m in multipliers] == [
        ("category", "3", "2"),
        ("weekday", "2", "1.5"),
        ("weekday", "2", ""),
    ]
    assert multipliers[0]["weekday"] == -1
    assert multipliers[1]["weekday"] == 5


def test_category_multiplier_on_a_weekday_without_multiplier() -> None:
    program = EarnRules(category_multipliers={"bread": D(3)})
    purchase = Purchase(D(10), paris(2026, 1, 5), lines=(PurchaseLine(D(4), "bread"),))
    assert rules.points_for_purchase(program, purchase, PARIS).points == 12 + 6


def test_tier_multiplier_stacks_on_line_multiplier_before_rounding() -> None:
    program = EarnRules(category_multipliers={"bread": D(2)}, rounding=Rounding.FLOOR)
    gold = Tier("gold", 1000, multiplier=D("1.25"))
    purchase = Purchase(D("3.30"), paris(2026, 1, 5), lines=(PurchaseLine(D("3.30"), "bread"),))
    earning = rules.points_for_purchase(program, purchase, PARIS, tier=gold)
    # 3.30 x 2 x 1.25 = 8.25 -> 8
    assert earning.exact == D("8.25")
    assert earning.points == 8
    assert step(earning.steps, StepCode.TIER_MULTIPLIER).params == {
        "tier": "gold",
        "multiplier": "1.25",
        "points": "8.25",
    }


def test_visit_points_are_not_multiplied() -> None:
    program = EarnRules(points_per_visit=10, weekday_multipliers={0: D(3)})
    earning = rules.points_for_purchase(
        program, Purchase(D(1), paris(2026, 1, 5)), PARIS, tier=Tier("t", 0, D(2))
    )
    assert earning.points == 1 * 3 * 2 + 10


@pytest.mark.parametrize(
    ("earned_today", "expected", "capped"),
    [
        (0, 50, 0),  # below the cap
        (50, 50, 0),  # exactly reaches the cap
        (51, 49, 1),  # one over
        (100, 0, 50),  # cap already reached
        (150, 0, 50),  # already above (e.g. cap lowered): never negative
    ],
)
def test_daily_cap(earned_today: int, expected: int, capped: int) -> None:
    program = EarnRules(points_per_visit=10, daily_cap=100)
    earning = rules.points_for_purchase(
        program, Purchase(D(40), paris(2026, 1, 5)), PARIS, earned_today=earned_today
    )
    assert earning.points == expected
    assert earning.capped_points == capped
    assert (StepCode.DAILY_CAP in [s.code for s in earning.steps]) is (capped > 0)


def test_bonuses_are_outside_the_cap() -> None:
    program = EarnRules(daily_cap=10, welcome_bonus=100, birthday_bonus=50)
    birthday = BirthdayContext(date(1990, 1, 5), consented=True)
    earning = rules.points_for_purchase(
        program,
        Purchase(D(40), paris(2026, 1, 5)),
        PARIS,
        welcome_due=True,
        birthday=birthday,
    )
    assert (earning.points, earning.welcome_points, earning.birthday_points) == (10, 100, 50)
    assert earning.total == 160
    assert earning.birthday_year == 2026
    assert codes(earning.steps)[-4:] == ["daily_cap", "welcome", "birthday", "total"]


def test_welcome_only_when_due() -> None:
    program = EarnRules(welcome_bonus=100)
    earning = rules.points_for_purchase(program, Purchase(D(1), paris(2026, 1, 5)), PARIS)
    assert earning.welcome_points == 0


def test_local_day_bounds_for_the_cap_on_dst_days() -> None:
    start, end = rules.local_day_bounds(paris(2026, 3, 29, 12), PARIS)
    assert start == datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert end - start == timedelta(hours=23)
    start, end = rules.local_day_bounds(paris(2025, 10, 26, 12), PARIS)
    assert end - start == timedelta(hours=25)


# ------------------------------------------------------------------------- input validation


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (D("-0.01"), RuleCode.INVALID_AMOUNT),
        (D("NaN"), RuleCode.INVALID_AMOUNT),
        (D("Infinity"), RuleCode.INVALID_AMOUNT),
        (D("1000000.01"), RuleCode.AMOUNT_TOO_LARGE),
        (12.5, RuleCode.INVALID_AMOUNT),
    ],
)
def test_bad_amounts(amount: Decimal, code: RuleCode) -> None:
    with pytest.raises(RuleError) as caught:
        Purchase(amount, paris(2026, 1, 5))
    assert caught.value.code == code
    assert caught.value.field == "amount"
    assert caught.value.message.startswith("amount ")
    assert isinstance(caught.value, ServiceError)


def test_lines_cannot_exceed_amount_and_name_the_field() -> None:
    with pytest.raises(RuleError) as caught:
        Purchase(D(10), paris(2026, 1, 5), lines=(PurchaseLine(D(6)), PurchaseLine(D("4.01"))))
    assert (caught.value.code, caught.value.field) == (RuleCode.LINES_EXCEED_AMOUNT, "lines")
    with pytest.raises(RuleError) as caught:
        Purchase(D(10), paris(2026, 1, 5), lines=(PurchaseLine(D(1)), PurchaseLine(D(-1))))
    assert caught.value.field == "lines[1].amount"


def test_naive_datetimes_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Purchase(D(1), datetime(2026, 1, 5))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"points_per_euro": D(-1)}, "points_per_euro"),
        ({"points_per_euro": D("1001")}, "points_per_euro"),
        ({"points_per_visit": -1}, "points_per_visit"),
        ({"weekday_multipliers": {7: D(2)}}, "weekday_multipliers"),
        ({"weekday_multipliers": {1: D(0)}}, "weekday_multipliers"),
        ({"category_multipliers": {" ": D(2)}}, "category_multipliers"),
        ({"category_multipliers": {"Bread": D(2), "bread ": D(3)}}, "category_multipliers"),
        ({"daily_cap": -5}, "daily_cap"),
        ({"welcome_bonus": -1}, "welcome_bonus"),
        ({"birthday_days_after": 32}, "birthday_days_after"),
        ({"rounding": "ceiling"}, "rounding"),
    ],
)
def test_invalid_program_settings(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(RuleError) as caught:
        EarnRules(**kwargs)  # type: ignore[arg-type]
    assert caught.value.code == RuleCode.INVALID_RULE
    assert caught.value.field == field


# --------------------------------------------------------------------------------- birthday


BIRTHDAY_RULES = EarnRules(birthday_bonus=50, birthday_days_before=7, birthday_days_after=7)


def birthday_at(
    birth: date | None, at: datetime, *, consented: bool = True, last: int | None = None
) -> rules.BirthdayDecision:
    return rules.birthday_bonus(BIRTHDAY_RULES, BirthdayContext(birth, consented, last), at, PARIS)


def test_birthday_requires_consent() -> None:
    decision = birthday_at(date(1990, 6, 15), paris(2026, 6, 15, 12), consented=False)
    assert decision.points == 0
    assert decision.steps[0].params["reason"] == "no_consent"
    assert birthday_at(None, paris(2026, 6, 15, 12)).steps[0].params["reason"] == "no_birth_date"


@pytest.mark.parametrize(
    ("day", "points"),
    [
        (date(2026, 6, 7), 0),  # 8 days before
        (date(2026, 6, 8), 50),  # first day of the window
        (date(2026, 6, 15), 50),
        (date(2026, 6, 22), 50),  # last day of the window
        (date(2026, 6, 23), 0),
    ],
)
def test_birthday_window_is_inclusive(day: date, points: int) -> None:
    decision = birthday_at(date(1990, 6, 15), paris(day.year, day.month, day.day, 12))
    assert decision.points == points


def test_birthday_window_uses_local_day() -> None:
    # 2026-06-07 22:30 UTC is already 2026-06-08 in Paris: inside the window.
    at = datetime(2026, 6, 7, 22, 30, tzinfo=UTC)
    assert birthday_at(date(1990, 6, 15), at).points == 50


def test_birthday_once_per_year() -> None:
    first = birthday_at(date(1990, 6, 15), paris(2026, 6, 10, 12))
    assert (first.points, first.year) == (50, 2026)
    again = birthday_at(date(1990, 6, 15), paris(2026, 6, 20, 12), last=first.year)
    assert again.points == 0
    assert again.steps[0].params["reason"] == "already_given"
    next_year = birthday_at(date(1990, 6, 15), paris(2027, 6, 15, 12), last=2026)
    assert (next_year.points, next_year.year) == (50, 2027)


def test_birthday_window_across_new_year() -> None:
    # Born 2 January: the 2027 window opens on 26 December 2026.
    decision = birthday_at(date(1990, 1, 2), paris(2026, 12, 27, 12), last=2026)
    assert (decision.points, decision.year) == (50, 2027)
    # Born 30 December, celebrated 2026: still in its window on 3 January 2027.
    decision = birthday_at(date(1990, 12, 30), paris(2027, 1, 3, 12))
    assert (decision.points, decision.year) == (50, 2026)
    assert birthday_at(date(1990, 12, 30), paris(2027, 1, 3, 12), last=2026).points == 0


def test_29_february_is_celebrated_on_28_february_in_non_leap_years() -> None:
    assert rules.birthday_on(date(2000, 2, 29), 2026) == date(2026, 2, 28)
    assert rules.birthday_on(date(2000, 2, 29), 2028) == date(2028, 2, 29)
    narrow = EarnRules(birthday_bonus=50, birthday_days_before=0, birthday_days_after=0)

    def on(day: date) -> int:
        ctx = BirthdayContext(date(2000, 2, 29), True)
        at = paris(day.year, day.month, day.day, 12)
        return rules.birthday_bonus(narrow, ctx, at, PARIS).points

    assert on(date(2026, 2, 28)) == 50
    assert on(date(2026, 3, 1)) == 0
    assert on(date(2028, 2, 28)) == 0
    assert on(date(2028, 2, 29)) == 50


def test_birthday_outside_window_says_when_it_opens() -> None:
    decision = birthday_at(date(1990, 6, 15), paris(2026, 7, 1, 12))
    assert decision.steps[0].params == {"reason": "outside_window", "next": "2027-06-08"}
    decision = birthday_at(date(1990, 6, 15), paris(2026, 3, 1, 12))
    assert decision.steps[0].params["next"] == "2026-06-08"


def test_no_birthday_bonus_configured_says_nothing() -> None:
    decision = rules.birthday_bonus(
        EarnRules(), BirthdayContext(date(1990, 6, 15), True), paris(2026, 6, 15), PARIS
    )
    assert decision == rules.BirthdayDecision(0, None, ())


# ---------------------------------------------------------------------------------- refunds


def test_partial_refunds_take_back_rounded_up_and_the_last_takes_the_rest() -> None:
    # Purchase 10.00 earned 7 points; refunds of 3.00, 3.00, 4.00.
    first = rules.refund_points(purchase_amount=D(10), earned_points=7, refund_amount=D(3))
    assert (first.points, first.remaining_points) == (3, 4)  # ceil(2.1) = 3; keeps floor(4.9)
    second = rules.refund_points(
        purchase_amount=D(10),
        earned_points=7,
        refund_amount=D(3),
        refunded_before=first.refunded_total,
        taken_before=first.taken_total,
    )
    assert second.points == 2  # ceil(4.2) = 5 in total
    assert not second.full
    third = rules.refund_points(
        purchase_amount=D(10),
        earned_points=7,
        refund_amount=D(4),
        refunded_before=second.refunded_total,
        taken_before=second.taken_total,
    )
    assert third.points == 2
    assert third.full
    assert first.points + second.points + third.points == 7
    assert third.steps[0].params["taken_total"] == 7


def test_full_refund_takes_back_everything() -> None:
    refund = rules.refund_points(
        purchase_amount=D("12.34"), earned_points=12, refund_amount=D("12.34")
    )
    assert (refund.points, refund.remaining_points, refund.full) == (12, 0, True)


def test_refund_more_than_refundable_is_refused() -> None:
    with pytest.raises(RuleError) as caught:
        rules.refund_points(
            purchase_amount=D(10),
            earned_points=10,
            refund_amount=D("2.01"),
            refunded_before=D(8),
            taken_before=8,
        )
    assert (caught.value.code, caught.value.field) == (RuleCode.REFUND_EXCEEDS_PURCHASE, "amount")
    assert "2" in caught.value.message


@pytest.mark.parametrize("amount", [D(0), D(-1), D("NaN")])
def test_refund_amount_must_be_positive(amount: Decimal) -> None:
    with pytest.raises(RuleError) as caught:
        rules.refund_points(purchase_amount=D(10), earned_points=10, refund_amount=amount)
    assert (caught.value.code, caught.value.field) == (RuleCode.INVALID_AMOUNT, "amount")


def test_refund_of_a_purchase_that_earned_nothing() -> None:
    refund = rules.refund_points(
        purchase_amount=D("0.50"), earned_points=0, refund_amount=D("0.50")
    )
    assert refund.points == 0


def test_refund_never_takes_more_than_what_remains_even_with_odd_history() -> None:
    # taken_before above the proportional target (e.g. computed under another rule): 0 more now.
    refund = rules.refund_points(
        purchase_amount=D(10),
        earned_points=10,
        refund_amount=D(1),
        refunded_before=D(1),
        taken_before=5,
    )
    assert refund.points == 0


@st.composite
def refund_sequences(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    cents = draw(st.integers(min_value=1, max_value=10_000_000))
    earned = draw(st.integers(min_value=0, max_value=100_000))
    cuts = draw(st.lists(st.integers(min_value=1, max_value=cents), max_size=8))
    bounds = sorted({*cuts, cents})
    parts = [b - a for a, b in zip([0, *bounds[:-1]], bounds, strict=True)]
    full = draw(st.booleans())
    if not full:
        parts = parts[: draw(st.integers(min_value=0, max_value=len(parts) - 1))]
    return cents, earned, parts


@given(refund_sequences())
@settings(max_examples=300, deadline=None)
def test_refunds_sum_exactly_to_earned_and_never_more(case: tuple[int, int, list[int]]) -> None:
    cents, earned, parts = case
    amount = D(cents) / 100
    refunded, taken = D(0), 0
    for part in parts:
        result = rules.refund_points(
            purchase_amount=amount,
            earned_points=earned,
            refund_amount=D(part) / 100,
            refunded_before=refunded,
            taken_before=taken,
        )
        assert result.points >= 0
        refunded, taken = result.refunded_total, result.taken_total
        assert taken <= earned
        # What the customer keeps is what the kept amount would earn, rounded down.
        kept_cents = cents - int(refunded * 100)
        assert earned - taken == earned * kept_cents // cents
    if refunded == amount:
        assert taken == earned


# ----------------------------------------------------------------------------------- expiry


def test_add_months_clamps_to_month_end() -> None:
    assert rules.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert rules.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert rules.add_months(date(2026, 3, 31), 1) == date(2026, 4, 30)
    assert rules.add_months(date(2026, 1, 15), 1) == date(2026, 2, 15)
    assert rules.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert rules.add_months(date(2026, 12, 31), 2) == date(2027, 2, 28)
    assert rules.add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert rules.add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)


def test_expiry_on_the_last_day_clamped_to_month_end() -> None:
    earned = paris(2026, 1, 31, 9)
    assert rules.last_valid_day(earned, 1, PARIS) == date(2026, 2, 28)
    expires = rules.expiry_instant(earned, 1, PARIS)
    assert expires == paris(2026, 3, 1).astimezone(UTC)
    assert expires == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert expires.tzinfo is UTC
    batch = EarnBatch.earned("b1", 10, earned, months=1, tz=PARIS)
    assert batch.is_live(expires - timedelta(seconds=1))
    assert not batch.is_live(expires)
    assert not batch.is_live(expires + timedelta(seconds=1))


def test_time_of_earning_in_the_day_does_not_matter() -> None:
    early = rules.expiry_instant(paris(2026, 1, 15, 0, 0), 1, PARIS)
    late = rules.expiry_instant(paris(2026, 1, 15, 23, 59, 59), 1, PARIS)
    assert early == late == paris(2026, 2, 16).astimezone(UTC)


def test_expiry_uses_the_organization_time_zone() -> None:
    # 2026-01-31 23:30 UTC is 1 February in Paris and Nouméa, still 31 January in UTC.
    earned = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    assert rules.last_valid_day(earned, 1, ZoneInfo("UTC")) == date(2026, 2, 28)
    assert rules.last_valid_day(earned, 1, PARIS) == date(2026, 3, 1)
    assert rules.expiry_instant(earned, 1, NOUMEA) == datetime(2026, 3, 2, tzinfo=NOUMEA)
    assert rules.expiry_instant(earned, 1, NOUMEA) == datetime(2026, 3, 1, 13, tzinfo=UTC)


def test_expiry_across_dst_in_paris() -> None:
    # Spring forward on 2026-03-29 (02:00 -> 03:00): the expiring day is 23 hours long.
    spring = rules.expiry_instant(paris(2026, 2, 28, 18), 1, PARIS)
    assert spring == datetime(2026, 3, 28, 23, tzinfo=UTC)  # 29 March 00:00 +01:00
    after_spring = rules.expiry_instant(paris(2026, 2, 28, 18), 2, PARIS)  # end of 28 April
    assert after_spring == datetime(2026, 4, 28, 22, tzinfo=UTC)  # 29 April 00:00 +02:00
    # Earned on the spring-forward day itself.
    assert rules.expiry_instant(paris(2026, 3, 29, 3, 30), 1, PARIS) == datetime(
        2026, 4, 29, 22, tzinfo=UTC
    )
    # Fall back on 2025-10-26 (03:00 -> 02:00): the ambiguous hour belongs to that day.
    ambiguous = datetime(2025, 10, 26, 2, 30, fold=1, tzinfo=PARIS)
    assert rules.last_valid_day(ambiguous, 1, PARIS) == date(2025, 11, 26)
    fall = rules.expiry_instant(paris(2025, 9, 26, 12), 1, PARIS)  # end of 26 October
    assert fall == datetime(2025, 10, 26, 23, tzinfo=UTC)  # 27 October 00:00 +01:00


@pytest.mark.parametrize(
    ("tz", "earned", "expected_utc"),
    [
        # Santiago skips 2024-09-08 00:00 -> 01:00: the day starts at 01:00 -03:00.
        (SANTIAGO, datetime(2024, 8, 7, 12, tzinfo=SANTIAGO), datetime(2024, 9, 8, 4, tzinfo=UTC)),
        # Havana repeats 2024-11-03 00:00-01:00: the day starts at the first 00:00 (-04:00).
        (HAVANA, datetime(2024, 10, 2, 12, tzinfo=HAVANA), datetime(2024, 11, 3, 4, tzinfo=UTC)),
    ],
)
def test_expiry_when_dst_changes_at_midnight(
    tz: ZoneInfo, earned: datetime, expected_utc: datetime
) -> None:
    expires = rules.expiry_instant(earned, 1, tz)
    assert expires == expected_utc
    last_day = rules.last_valid_day(earned, 1, tz)
    assert (expires - timedelta(seconds=1)).astimezone(tz).date() == last_day
    assert expires.astimezone(tz).date() == last_day + timedelta(days=1)


@pytest.mark.parametrize("months", [0, -1, 121])
def test_expiry_months_must_be_sensible(months: int) -> None:
    with pytest.raises(RuleError) as caught:
        rules.expiry_instant(paris(2026, 1, 1), months, PARIS)
    assert caught.value.field == "expiry_months"


def test_due_expiries_one_second_before_and_after_local_midnight() -> None:
    batch = EarnBatch.earned(1, 40, paris(2026, 1, 31, 10), months=1, tz=PARIS)
    state = rules.replay([batch])
    last_second = paris(2026, 2, 28, 23, 59, 59)
    midnight = paris(2026, 3, 1)
    assert state.due_expiries(last_second) == ()
    assert state.available_at(last_second) == 40
    assert state.due_expiries(midnight) == (
        Debit(DebitKind.EXPIRY, 40, midnight.astimezone(UTC), batch_id=1),
    )
    assert state.available_at(midnight + timedelta(seconds=1)) == 0
    assert state.balance == 40  # not recorded yet
    after = rules.replay([batch, *state.due_expiries(midnight + timedelta(seconds=1))])
    assert (after.balance, after.expired) == (0, 40)


def test_fifo_spend_across_batches_and_schedule() -> None:
    b1 = EarnBatch.earned("a", 30, paris(2026, 1, 10, 9), months=12, tz=PARIS)
    b2 = EarnBatch.earned("b", 50, paris(2026, 2, 10, 9), months=12, tz=PARIS)
    b3 = EarnBatch.earned("c", 20, paris(2026, 2, 10, 18), months=12, tz=PARIS)
    spend = Debit(DebitKind.SPEND, 60, paris(2026, 3, 1, 12))
    state = rules.replay([b1, b2, b3, spend])
    assert [(b.id, b.remaining, b.spent) for b in state.batches] == [
        ("a", 0, 30),
        ("b", 20, 30),
        ("c", 20, 0),
    ]
    assert state.debits[0].allocations == (rules.Allocation("a", 30), rules.Allocation("b", 30))
    assert state.schedule(PARIS) == (
        rules.ExpiryLine(date(2027, 2, 10), paris(2027, 2, 11).astimezone(UTC), 40),
    )


def test_fifo_is_by_earning_time_not_ledger_order() -> None:
    late = EarnBatch("late", 10, paris(2026, 2, 1))
    early = EarnBatch("early", 10, paris(2026, 1, 1))
    state = rules.replay([late, early, Debit(DebitKind.SPEND, 5, paris(2026, 3, 1))])
    assert {b.id: b.remaining for b in state.batches} == {"late": 10, "early": 5}


def test_spend_skips_expired_batches_and_refuses_overspending() -> None:
    old = EarnBatch.earned(1, 100, paris(2025, 1, 10), months=12, tz=PARIS)
    new = EarnBatch.earned(2, 30, paris(2026, 1, 5), months=12, tz=PARIS)
    at = paris(2026, 2, 1)
    with pytest.raises(RuleError) as caught:
        rules.replay([old, new, Debit(DebitKind.SPEND, 31, at)])
    assert (caught.value.code, caught.value.field) == (RuleCode.INSUFFICIENT_POINTS, "points")
    assert "30 available" in caught.value.message
    state = rules.replay([old, new, Debit(DebitKind.SPEND, 30, at)])
    assert {b.id: b.remaining for b in state.batches} == {1: 100, 2: 0}


def test_spend_cannot_use_points_earned_later_in_the_ledger() -> None:
    with pytest.raises(RuleError):
        rules.replay(
            [
                Debit(DebitKind.SPEND, 1, paris(2026, 1, 1)),
                EarnBatch(1, 10, paris(2025, 1, 1)),
            ]
        )


def test_expiry_must_be_due_known_and_not_too_large() -> None:
    batch = EarnBatch.earned(1, 10, paris(2026, 1, 31), months=1, tz=PARIS)
    due = paris(2026, 3, 1)
    with pytest.raises(RuleError) as caught:
        rules.replay([batch, Debit(DebitKind.EXPIRY, 10, due - timedelta(seconds=1), batch_id=1)])
    assert caught.value.code == RuleCode.EXPIRY_NOT_DUE
    with pytest.raises(RuleError) as caught:
        rules.replay([batch, Debit(DebitKind.EXPIRY, 11, due, batch_id=1)])
    assert caught.value.code == RuleCode.EXPIRY_EXCEEDS_BATCH
    with pytest.raises(RuleError) as caught:
        rules.replay([batch, Debit(DebitKind.EXPIRY, 1, due, batch_id=2)])
    assert caught.value.code == RuleCode.UNKNOWN_BATCH
    never = EarnBatch(3, 10, paris(2020, 1, 1))
    with pytest.raises(RuleError) as caught:
        rules.replay([never, Debit(DebitKind.EXPIRY, 1, paris(2099, 1, 1), batch_id=3)])
    assert caught.value.code == RuleCode.EXPIRY_NOT_DUE
    with pytest.raises(RuleError) as caught:
        Debit(DebitKind.EXPIRY, 1, due)
    assert caught.value.field == "batch_id"


def test_refund_debit_takes_own_batch_first_then_fifo_and_reports_shortfall() -> None:
    a = EarnBatch("a", 10, paris(2026, 1, 1))
    purchase = EarnBatch("p", 50, paris(2026, 1, 2))
    spend = Debit(DebitKind.SPEND, 45, paris(2026, 1, 3))  # a: 10, p: 35 -> p has 15 left
    refund = Debit(DebitKind.REFUND, 50, paris(2026, 1, 4), batch_id="p")
    state = rules.replay([a, purchase, spend, refund])
    assert state.debits[1].allocations == (rules.Allocation("p", 15),)
    assert state.debits[1].shortfall == 35
    assert state.balance == 0
    # With another batch available, the rest comes from it.
    b = EarnBatch("b", 100, paris(2026, 1, 3))
    state = rules.replay([a, purchase, b, spend, refund])
    assert state.debits[1].allocations == (rules.Allocation("p", 15), rules.Allocation("b", 35))
    assert state.debits[1].shortfall == 0
    assert state.refunded == 50


def test_duplicate_batch_and_bad_points() -> None:
    with pytest.raises(RuleError) as caught:
        rules.replay([EarnBatch(1, 1, paris(2026, 1, 1)), EarnBatch(1, 2, paris(2026, 1, 1))])
    assert caught.value.code == RuleCode.DUPLICATE_BATCH
    for bad in (0, -3):
        with pytest.raises(RuleError):
            EarnBatch(1, bad, paris(2026, 1, 1))
        with pytest.raises(RuleError):
            Debit(DebitKind.SPEND, bad, paris(2026, 1, 1))


def test_schedule_groups_by_local_last_day() -> None:
    # Two batches on the same Paris day (one is the previous day in UTC) expire together.
    b1 = EarnBatch.earned(1, 5, datetime(2026, 1, 14, 23, 30, tzinfo=UTC), months=1, tz=PARIS)
    b2 = EarnBatch.earned(2, 7, paris(2026, 1, 15, 20), months=1, tz=PARIS)
    b3 = EarnBatch(3, 9, paris(2026, 1, 1))  # never expires: not listed
    state = rules.replay([b1, b2, b3])
    assert state.schedule(PARIS) == (
        rules.ExpiryLine(date(2026, 2, 15), paris(2026, 2, 16).astimezone(UTC), 12),
    )


@st.composite
def ledgers(draw: st.DrawFn) -> list[EarnBatch | Debit]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    moment = start
    entries: list[EarnBatch | Debit] = []
    next_id = 0
    months = draw(st.sampled_from([None, 1, 3, 12]))
    for _ in range(draw(st.integers(min_value=1, max_value=40))):
        moment += timedelta(hours=draw(st.integers(min_value=0, max_value=24 * 40)))
        state = rules.replay(entries)
        # Record due expiries first, as the services do.
        entries.extend(state.due_expiries(moment))
        state = rules.replay(entries)
        kind = draw(st.sampled_from(["earn", "earn", "spend", "refund"]))
        if kind == "earn" or not state.batches:
            entries.append(
                EarnBatch.earned(
                    next_id,
                    draw(st.integers(min_value=1, max_value=500)),
                    moment,
                    months=months,
                    tz=PARIS,
                )
            )
            next_id += 1
        elif kind == "spend":
            available = state.available_at(moment)
            if available:
                points = draw(st.integers(min_value=1, max_value=available))
                entries.append(Debit(DebitKind.SPEND, points, moment))
        else:
            batch = draw(st.sampled_from(state.batches))
            points = draw(st.integers(min_value=1, max_value=600))
            entries.append(Debit(DebitKind.REFUND, points, moment, batch_id=batch.id))
    return entries


@given(ledgers())
@settings(max_examples=150, deadline=None)
def test_fifo_replay_invariants(entries: list[EarnBatch | Debit]) -> None:
    state = rules.replay(entries)
    assert all(b.remaining >= 0 for b in state.batches)
    assert state.balance == state.earned - state.spent - state.expired - state.refunded
    assert state.balance >= 0
    for batch in state.batches:
        assert batch.remaining == batch.batch.points - batch.spent - batch.expired - batch.refunded
    spends = [d for d in state.debits if d.debit.kind == DebitKind.SPEND]
    assert sum(d.taken for d in spends) == state.spent
    for result in state.debits:
        assert result.taken + result.shortfall == result.debit.points
        if result.debit.kind != DebitKind.REFUND:
            assert result.shortfall == 0
    # FIFO, checked against the state just before each spend: the spend empties the oldest
    # live batches in earning order and only the last one it touches may keep points.
    position = 0
    for index, entry in enumerate(entries):
        if not isinstance(entry, Debit):
            continue
        result = state.debits[position]
        position += 1
        if entry.kind != DebitKind.SPEND:
            continue
        before = rules.replay(entries[:index])
        live = sorted(
            (b for b in before.batches if b.remaining > 0 and b.batch.is_live(entry.at)),
            key=lambda b: b.batch.earned_at,
        )
        touched = [a.batch_id for a in result.allocations]
        assert touched == [b.id for b in live[: len(touched)]]
        for allocation, batch in zip(result.allocations[:-1], live, strict=False):
            assert allocation.points == batch.remaining
    # Schedule sums to what will still expire.
    expiring = sum(b.remaining for b in state.batches if b.batch.expires_at is not None)
    assert sum(line.points for line in state.schedule(PARIS)) == expiring


# ------------------------------------------------------------------------------------ tiers


BRONZE = Tier("bronze", 0)
SILVER = Tier("silver", 500, D("1.1"))
GOLD = Tier("gold", 1000, D("1.25"))
TIERS = (GOLD, BRONZE, SILVER)


@pytest.mark.parametrize(
    ("total", "code"),
    [
        (0, "bronze"),
        (499, "bronze"),
        (500, "silver"),
        (999, "silver"),
        (1000, "gold"),
        (10**6, "gold"),
    ],
)
def test_tier_for_total_threshold_equality_reaches(total: int, code: str) -> None:
    tier = rules.tier_for_total(TIERS, total)
    assert tier is not None
    assert tier.code == code


def test_no_tier_below_the_lowest_threshold() -> None:
    assert rules.tier_for_total((SILVER, GOLD), 499) is None


def test_invalid_tiers() -> None:
    with pytest.raises(RuleError) as caught:
        rules.sort_tiers((SILVER, Tier("silver", 600)))
    assert caught.value.code == RuleCode.INVALID_TIERS
    with pytest.raises(RuleError):
        rules.sort_tiers((SILVER, Tier("argent", 500)))
    with pytest.raises(RuleError):
        Tier("x", -1)
    with pytest.raises(RuleError):
        Tier("", 1)


def test_rolling_window_uses_the_last_day_rule() -> None:
    entry = QualifyingPoints(600, paris(2025, 3, 15, 10))
    # Counted through the end of 2026-03-15 local, gone at 2026-03-16 00:00 Paris.
    assert rules.rolling_total([entry], paris(2026, 3, 15, 23, 59, 59), PARIS) == 600
    assert rules.rolling_total([entry], paris(2026, 3, 16), PARIS) == 0
    # Not counted before it was earned.
    assert rules.rolling_total([entry], paris(2025, 3, 15, 9), PARIS) == 0


def test_refunds_reduce_the_window_of_their_purchase_and_total_never_negative() -> None:
    earn = QualifyingPoints(600, paris(2025, 3, 15))
    refund = QualifyingPoints(-200, paris(2025, 3, 15))
    assert rules.rolling_total([earn, refund], paris(2025, 6, 1), PARIS) == 400
    assert (
        rules.rolling_total([QualifyingPoints(-5, paris(2025, 3, 15))], paris(2025, 4, 1), PARIS)
        == 0
    )


def test_window_first_day() -> None:
    assert rules.window_first_day(date(2026, 3, 16)) == date(2025, 3, 16)
    assert rules.window_first_day(date(2025, 2, 28)) == date(2024, 2, 28)
    assert rules.window_first_day(date(2024, 2, 29)) == date(2023, 3, 1)
    # Consistent with window_end for every day of a leap cycle.
    day = date(2023, 1, 1)
    while day < date(2025, 1, 1):
        first = rules.window_first_day(day)
        assert rules.add_months(first, 12) >= day
        assert rules.add_months(first - timedelta(days=1), 12) < day
        day += timedelta(days=1)


def test_earn_upgrades_at_equality() -> None:
    entries = [QualifyingPoints(500, paris(2026, 1, 5))]
    decision = rules.evaluate_tier(
        TIERS, "bronze", entries, paris(2026, 1, 5, 12), PARIS, trigger=TierTrigger.EARN
    )
    assert decision.tier == SILVER
    assert decision.change == TierChange.UP
    assert decision.steps[-1].params == {"from": "bronze", "to": "silver"}


def test_no_downgrade_between_reviews() -> None:
    # Gold reached with 1000 on 2025-01-10; those points leave after 2026-01-10.
    entries = [QualifyingPoints(1000, paris(2025, 1, 10)), QualifyingPoints(100, paris(2025, 6, 1))]
    now = paris(2026, 1, 20)
    for trigger in (TierTrigger.EARN, TierTrigger.REFUND):
        decision = rules.evaluate_tier(TIERS, "gold", entries, now, PARIS, trigger=trigger)
        assert decision.tier == GOLD
        assert decision.change == TierChange.SAME
        assert decision.total == 100
        assert StepCode.TIER_KEPT_UNTIL_REVIEW in [s.code for s in decision.steps]
    review = rules.evaluate_tier(
        TIERS, "gold", entries, paris(2026, 2, 1), PARIS, trigger=TierTrigger.REVIEW
    )
    assert review.tier == BRONZE
    assert review.change == TierChange.DOWN
    assert review.steps[-1].params == {"from": "gold", "to": "bronze"}


def test_review_keeps_tier_at_exact_threshold_and_upgrades_if_missed() -> None:
    entries = [QualifyingPoints(1000, paris(2025, 6, 1))]
    review = rules.evaluate_tier(
        TIERS, "gold", entries, paris(2026, 2, 1), PARIS, trigger=TierTrigger.REVIEW
    )
    assert (review.tier, review.change) == (GOLD, TierChange.SAME)
    review = rules.evaluate_tier(
        TIERS, None, entries, paris(2026, 2, 1), PARIS, trigger=TierTrigger.REVIEW
    )
    assert (review.tier, review.change) == (GOLD, TierChange.UP)


def test_unknown_current_tier_counts_as_none() -> None:
    decision = rules.evaluate_tier(
        TIERS, "platinum", [], paris(2026, 1, 1), PARIS, trigger=TierTrigger.EARN
    )
    assert decision.previous is None
    assert decision.tier == BRONZE


def test_review_instants_are_local_first_of_month() -> None:
    now = paris(2026, 3, 31, 23, 59, 59)
    assert rules.review_instant(now, PARIS) == paris(2026, 3, 1).astimezone(UTC)
    assert rules.next_review_instant(now, PARIS) == datetime(2026, 3, 31, 22, tzinfo=UTC)
    assert rules.review_instant(paris(2026, 4, 1), PARIS) == paris(2026, 4, 1).astimezone(UTC)
    assert rules.next_review_instant(paris(2026, 12, 15), PARIS) == paris(2027, 1, 1).astimezone(
        UTC
    )


def test_tier_status_explains_next_tier_and_drops() -> None:
    entries = [
        QualifyingPoints(300, paris(2025, 2, 10, 9)),
        QualifyingPoints(200, paris(2025, 2, 10, 18)),
        QualifyingPoints(250, paris(2025, 9, 1)),
        QualifyingPoints(-50, paris(2025, 9, 1)),
    ]
    status = rules.tier_status(TIERS, "silver", entries, paris(2026, 1, 20), PARIS)
    assert status.total == 700
    assert status.reached == SILVER
    assert status.next_tier == GOLD
    assert status.missing == 300
    assert status.drops == (
        rules.WindowDrop(date(2026, 2, 10), paris(2026, 2, 11).astimezone(UTC), 500),
        rules.WindowDrop(date(2026, 9, 1), paris(2026, 9, 2).astimezone(UTC), 200),
    )
    assert status.next_drop == status.drops[0]
    assert status.next_review == paris(2026, 2, 1).astimezone(UTC)
    # The 10 February points are still there at the 1 February review.
    assert status.total_at_review == 700
    assert status.missing_to_keep == 0
    later = rules.tier_status(TIERS, "silver", entries, paris(2026, 2, 5), PARIS)
    assert later.total_at_review == 200  # the March review comes after 10 February
    assert later.missing_to_keep == 300
    at_risk = step(later.steps, StepCode.TIER_AT_RISK)
    assert at_risk.params == {
        "tier": "silver",
        "threshold": 500,
        "review": "2026-03-01",
        "missing": 300,
    }
    assert codes(status.steps) == [
        "rolling_total",
        "tier_reached",
        "next_tier",
        "points_leave_window",
    ]
    assert status.steps[0].params == {"points": 700, "months": 12, "since": "2025-01-20"}


def test_tier_status_top_tier_and_no_tier() -> None:
    top = rules.tier_status(
        TIERS, "gold", [QualifyingPoints(2000, paris(2026, 1, 1))], paris(2026, 1, 2), PARIS
    )
    assert top.next_tier is None
    assert top.missing == 0
    assert StepCode.TOP_TIER in [s.code for s in top.steps]
    none = rules.tier_status((SILVER, GOLD), None, [], paris(2026, 1, 2), PARIS)
    assert none.next_tier == SILVER
    assert none.missing == 500
    assert step(none.steps, StepCode.NO_TIER_REACHED).params == {"threshold": 500, "missing": 500}


# ------------------------------------------------------------------------------------ cards


def test_known_luhn_numbers() -> None:
    assert rules.is_luhn_valid("79927398713")
    assert not rules.is_luhn_valid("79927398710")
    assert rules.luhn_check_digit("7992739871") == "3"
    assert not rules.is_luhn_valid("7")
    assert not rules.is_luhn_valid("7992739871a")


def test_generated_card_numbers() -> None:
    rng = random.Random(42)
    numbers = {rules.generate_card_number(rng) for _ in range(2000)}
    assert len(numbers) == 2000
    for number in numbers:
        assert len(number) == 12
        assert number[0] != "0"
        assert number.isascii() and number.isdigit()
        assert rules.validate_card_number(number) == number
    assert rules.validate_card_number(rules.generate_card_number())  # secrets generator


def test_card_number_formatting_and_normalisation() -> None:
    number = rules.generate_card_number(random.Random(1))
    printed = rules.format_card_number(number)
    assert printed == f"{number[:4]} {number[4:8]} {number[8:]}"
    assert rules.validate_card_number(printed) == number
    assert rules.validate_card_number(printed.replace(" ", "-")) == number


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "required"),
        ("  ", "required"),
        ("1234 5678 901a", "only digits"),
        ("１２３４５６７８９０１２", "only digits"),  # full-width digits are not ASCII digits
        ("12345678903", "expected 12 digits, got 11"),
        ("1234567890123", "expected 12 digits, got 13"),
    ],
)
def test_invalid_card_numbers_name_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(RuleError) as caught:
        rules.validate_card_number(raw)
    assert (caught.value.code, caught.value.field) == (RuleCode.INVALID_CARD_NUMBER, "card_number")
    assert reason in caught.value.message


def test_wrong_check_digit_is_reported() -> None:
    number = rules.generate_card_number(random.Random(3))
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(RuleError) as caught:
        rules.validate_card_number(wrong)
    assert "check digit" in caught.value.message


def _single_digit_errors(number: str) -> list[str]:
    return [
        number[:i] + d + number[i + 1 :]
        for i in range(len(number))
        for d in "0123456789"
        if d != number[i]
    ]


def _adjacent_transpositions(number: str) -> list[tuple[str, str]]:
    out = []
    for i in range(len(number) - 1):
        a, b = number[i], number[i + 1]
        if a != b:
            out.append((a + b, number[:i] + b + a + number[i + 2 :]))
    return out


def test_luhn_detects_every_single_digit_error() -> None:
    rng = random.Random(7)
    for _ in range(200):
        number = rules.generate_card_number(rng)
        for typo in _single_digit_errors(number):
            assert not rules.is_luhn_valid(typo), (number, typo)


def test_luhn_detects_adjacent_transpositions_except_09_90() -> None:
    rng = random.Random(11)
    missed: set[str] = set()
    for _ in range(500):
        number = rules.generate_card_number(rng)
        for pair, swapped in _adjacent_transpositions(number):
            if rules.is_luhn_valid(swapped):
                missed.add(pair)
    # The known limitation of Luhn: "09" <-> "90" keeps the same sum.
    assert missed <= {"09", "90"}
    # And it really happens, wherever the pair sits.
    for i in range(10):
        body = "1" * i + "09" + "1" * (9 - i)
        number = body + rules.luhn_check_digit(body)
        assert rules.is_luhn_valid(number[:i] + "90" + number[i + 2 :])


def test_every_pair_exhaustively() -> None:
    # Every ordered pair of distinct digits at every position of a 12-digit number.
    base = "100000000000"
    for i in range(11):
        for a in "0123456789":
            for b in "0123456789":
                if a == b:
                    continue
                body = base[:i] + a + b + base[i + 2 :]
                valid = body[:-1] + rules.luhn_check_digit(body[:-1])
                if valid[i : i + 2] != a + b:
                    continue  # the pair overlapped the check digit, which was recomputed
                swapped = valid[:i] + b + a + valid[i + 2 :]
                assert rules.is_luhn_valid(swapped) is ({a, b} == {"0", "9"}), (valid, i)


@given(st.integers(min_value=10**10, max_value=10**11 - 1))
def test_luhn_property(body_int: int) -> None:
    body = str(body_int)
    number = body + rules.luhn_check_digit(body)
    assert rules.is_luhn_valid(number)
    for typo in _single_digit_errors(number):
        assert not rules.is_luhn_valid(typo)
    for pair, swapped in _adjacent_transpositions(number):
        assert rules.is_luhn_valid(swapped) is (pair in {"09", "90"})
