"""Pure rules: local times across daylight saving, seats, offers, reminders."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from cueillette.events import rules

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC


def test_local_time_is_kept_across_the_spring_change() -> None:
    # 2026: summer time starts on Sunday 29 March (02:00 -> 03:00).
    before = rules.local_to_utc(dt.date(2026, 3, 24), dt.time(20, 0), PARIS)
    after = rules.local_to_utc(dt.date(2026, 3, 31), dt.time(20, 0), PARIS)
    assert before == dt.datetime(2026, 3, 24, 19, 0, tzinfo=UTC)  # UTC+1
    assert after == dt.datetime(2026, 3, 31, 18, 0, tzinfo=UTC)  # UTC+2
    assert before.astimezone(PARIS).time() == after.astimezone(PARIS).time() == dt.time(20, 0)


def test_local_time_is_kept_across_the_autumn_change() -> None:
    # 2026: winter time on Sunday 25 October (03:00 -> 02:00).
    starts = rules.series_starts(dt.date(2026, 10, 20), 3, dt.time(20, 0), PARIS)
    assert [s.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") for s in starts] == [
        "2026-10-20 20:00",
        "2026-10-27 20:00",
        "2026-11-03 20:00",
    ]
    assert starts[0].astimezone(UTC).hour == 18 and starts[1].astimezone(UTC).hour == 19


def test_a_time_in_the_spring_gap_moves_forward_and_a_repeated_one_takes_the_first() -> None:
    gap = rules.local_to_utc(dt.date(2026, 3, 29), dt.time(2, 30), PARIS)
    assert gap.astimezone(PARIS).strftime("%H:%M") == "03:30"
    repeat = rules.local_to_utc(dt.date(2026, 10, 25), dt.time(2, 30), PARIS)
    assert repeat == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # still summer time (UTC+2)


def test_sessions_on_the_change_sundays_themselves() -> None:
    spring = rules.local_to_utc(dt.date(2026, 3, 29), dt.time(20, 0), PARIS)
    autumn = rules.local_to_utc(dt.date(2026, 10, 25), dt.time(20, 0), PARIS)
    assert spring == dt.datetime(2026, 3, 29, 18, 0, tzinfo=UTC)
    assert autumn == dt.datetime(2026, 10, 25, 19, 0, tzinfo=UTC)


def test_weekly_dates_skip_the_exceptions() -> None:
    dates = rules.weekly_dates(dt.date(2026, 1, 6), 4, [dt.date(2026, 1, 13)])
    assert dates == [dt.date(2026, 1, 6), dt.date(2026, 1, 20), dt.date(2026, 1, 27)]


def test_placement() -> None:
    assert rules.place(3, 2, True) == rules.Placement.SEAT
    assert rules.place(3, 3, True) == rules.Placement.WAITLIST
    assert rules.place(3, 3, False) == rules.Placement.FULL


def test_an_offer_lapses_before_the_session_starts() -> None:
    now = dt.datetime(2026, 5, 5, 10, 0, tzinfo=UTC)
    far = now + dt.timedelta(days=3)
    assert rules.offer_expiry(now, far) == now + dt.timedelta(hours=12)
    soon = now + dt.timedelta(hours=2)
    assert rules.offer_expiry(now, soon) == soon - dt.timedelta(minutes=15)


def test_capacity_cut_withdraws_offers_first_then_the_latest_and_never_attendees() -> None:
    t = dt.datetime(2026, 5, 1, tzinfo=UTC)
    holders = [
        rules.Holder(1, "attended", t),
        rules.Holder(2, "confirmed", t + dt.timedelta(minutes=1)),
        rules.Holder(3, "confirmed", t + dt.timedelta(minutes=2)),
        rules.Holder(4, "offered", t + dt.timedelta(minutes=3)),
        rules.Holder(5, "confirmed", t + dt.timedelta(minutes=4)),
    ]
    assert rules.capacity_cut(holders, 5) == []
    assert rules.capacity_cut(holders, 4) == [4]
    assert rules.capacity_cut(holders, 3) == [4, 5]
    assert rules.capacity_cut(holders, 1) == [2, 3, 4, 5]
    assert rules.capacity_cut(holders, 0) == [2, 3, 4, 5]  # the attendee stays


def test_reminder_the_day_before_in_local_dates() -> None:
    start = dt.datetime(2026, 5, 6, 18, 0, tzinfo=UTC)  # 20:00 in Paris
    assert rules.reminder_due(dt.datetime(2026, 5, 5, 8, 0, tzinfo=UTC), start, PARIS)  # 10:00
    assert not rules.reminder_due(dt.datetime(2026, 5, 5, 6, 0, tzinfo=UTC), start, PARIS)
    assert not rules.reminder_due(dt.datetime(2026, 5, 6, 8, 0, tzinfo=UTC), start, PARIS)
    # 23:30 UTC on the 4th is already the 5th in Paris (01:30), but before the reminder hour.
    assert not rules.reminder_due(dt.datetime(2026, 5, 4, 23, 30, tzinfo=UTC), start, PARIS)


def test_rate_never_divides_by_zero() -> None:
    assert rules.rate(0, 0) is None
    assert rules.rate(1, 4) == 0.25
