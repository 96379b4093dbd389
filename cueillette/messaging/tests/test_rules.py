"""The gate's pure rules: consent at a time, quiet hours across DST, decisions by class."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from hypothesis import given
from hypothesis import strategies as st

from cueillette.messaging import rules
from cueillette.messaging.models import MessageClass, Reason, Status

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 1, 12, tzinfo=UTC)


def entry(
    i: int, purpose: str, granted: bool, minutes: int, source: str = "counter"
) -> rules.Entry:
    return rules.Entry(i, purpose, granted, T0 + dt.timedelta(minutes=minutes), source)


def test_consent_in_force_is_the_latest_entry_by_then() -> None:
    entries = [entry(1, "news_email", True, 0), entry(2, "news_email", False, 10)]
    assert (
        rules.consent_for(entries, ("news_email",), "email", T0 + dt.timedelta(minutes=5)).entry
        == entries[0]
    )
    later = rules.consent_for(entries, ("news_email",), "email", T0 + dt.timedelta(minutes=10))
    assert later.entry is None and later.reason == Reason.NO_CONSENT


def test_a_withdrawal_from_the_link_reads_unsubscribed_and_the_channel_must_match() -> None:
    entries = [
        entry(1, "news_email", True, 0),
        entry(2, "news_email", False, 1, "unsubscribe_link"),
    ]
    assert (
        rules.consent_for(entries, ("news_email",), "email", T0 + dt.timedelta(hours=1)).reason
        == Reason.UNSUBSCRIBED
    )
    # News by email does not open SMS; profiling opens no channel at all.
    assert (
        rules.consent_for(
            [entry(1, "news_email", True, 0)], ("news_email",), "sms", T0 + dt.timedelta(hours=1)
        ).entry
        is None
    )
    assert (
        rules.consent_for(
            [entry(1, "profiling", True, 0)], ("profiling",), "email", T0 + dt.timedelta(hours=1)
        ).entry
        is None
    )


def test_also_needs_each_extra_consent() -> None:
    at = T0 + dt.timedelta(hours=1)
    news = entry(1, "news_email", True, 0)
    assert (
        rules.consent_for([news], ("news_email",), "email", at, also=("profiling",)).entry is None
    )
    both = [news, entry(2, "profiling", True, 0)]
    assert rules.consent_for(both, ("news_email",), "email", at, also=("profiling",)).entry == news


def test_quiet_hours_end_at_the_local_morning_across_summer_time() -> None:
    quiet = rules.Quiet(dt.time(21), dt.time(8), "Europe/Paris")
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    # Saturday 28 March 2026, 23:00 in Paris; the clocks go forward that night.
    late = dt.datetime(2026, 3, 28, 23, tzinfo=paris)
    end = rules.next_allowed(late.astimezone(UTC), quiet)
    assert end is not None and end.astimezone(paris) == dt.datetime(2026, 3, 29, 8, tzinfo=paris)
    assert end.utcoffset() == dt.timedelta(0) and end.hour == 6  # summer time: UTC+2
    early = dt.datetime(2026, 10, 25, 3, tzinfo=paris)  # autumn: back to UTC+1 that night
    end = rules.next_allowed(early.astimezone(UTC), quiet)
    assert end is not None and end.astimezone(paris).hour == 8 and end.hour == 7
    assert (
        rules.next_allowed(dt.datetime(2026, 3, 30, 12, tzinfo=paris).astimezone(UTC), quiet)
        is None
    )
    assert rules.next_allowed(T0, rules.Quiet(dt.time(0), dt.time(0), "UTC")) is None


@given(
    minutes=st.integers(0, 60 * 24 * 400),
    start=st.times(),
    end=st.times(),
    tz=st.sampled_from(
        ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
    ),
)
def test_next_allowed_is_always_later_and_outside_quiet_hours(
    minutes: int, start: dt.time, end: dt.time, tz: str
) -> None:
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    now = dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=minutes)
    quiet = rules.Quiet(start, end, tz)
    later = rules.next_allowed(now, quiet)
    local = now.astimezone(zoneinfo.ZoneInfo(tz)).time()
    if later is None:
        assert not rules.is_quiet(local, start, end)
    else:
        assert later > now
        assert later - now <= dt.timedelta(hours=26)
        wall = later.astimezone(zoneinfo.ZoneInfo(tz)).time()
        assert not rules.is_quiet(wall, start, end) or wall >= end


def facts(**kw: object) -> rules.Facts:
    base: dict[str, object] = {
        "klass": MessageClass.MARKETING,
        "channel": "email",
        "now": T0 + dt.timedelta(hours=1),
        "has_address": True,
        "consent": rules.ConsentVerdict(entry(1, "news_email", True, 0), Reason.ALLOWED),
    }
    base.update(kw)
    return rules.Facts(**base)  # type: ignore[arg-type]


def test_decisions_by_class() -> None:
    assert rules.decide(facts()).status == Status.QUEUED
    no = rules.ConsentVerdict(None, Reason.NO_CONSENT)
    assert rules.decide(facts(consent=no)).reason == Reason.NO_CONSENT
    # Transactional and staff mail needs only an address (no consent, never capped).
    assert (
        rules.decide(
            facts(klass=MessageClass.TRANSACTIONAL, consent=no, marketing_in_window=9)
        ).status
        == Status.QUEUED
    )
    assert (
        rules.decide(facts(klass=MessageClass.STAFF, has_address=False)).reason == Reason.NO_ADDRESS
    )
    assert rules.decide(facts(marketing_in_window=2, cap=2)).reason == Reason.CAPPED
    # Service messages are not capped, and not moved by quiet hours.
    quiet = rules.Quiet(dt.time(0), dt.time(23, 59), "UTC")
    assert (
        rules.decide(facts(klass=MessageClass.SERVICE, marketing_in_window=9, quiet=quiet)).status
        == Status.QUEUED
    )
    moved = rules.decide(facts(quiet=quiet))
    assert moved.status == Status.DEFERRED and moved.send_after is not None
    assert rules.decide(facts(suppression="hard_bounce")).reason == Reason.BOUNCED
    assert rules.decide(facts(suppression="cleaned_import")).reason == Reason.SUPPRESSED
    assert rules.decide(facts(paused_until=T0 + dt.timedelta(days=3))).reason == Reason.PAUSED
    assert rules.decide(facts(enabled=False)).reason == Reason.SWITCHED_OFF
    assert rules.decide(facts(active=False)).reason == Reason.INACTIVE
    assert rules.cap_for(2, fewer=True) == 1 and rules.cap_for(0, fewer=True) == 0


def test_backoff_grows_and_hold_out_is_stable() -> None:
    waits = [rules.backoff(n) for n in range(1, 7)]
    assert waits == sorted(waits) and waits[0] == dt.timedelta(minutes=1)
    assert waits[-1] == dt.timedelta(hours=4)
    picked = [c for c in range(1000) if rules.held_back(7, c, 20)]
    assert 120 < len(picked) < 280
    assert picked == [c for c in range(1000) if rules.held_back(7, c, 20)]
