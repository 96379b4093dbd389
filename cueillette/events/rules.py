"""Pure rules of sessions: local times across daylight saving, seats, offers. No database.

Times: a session is offered at a wall-clock time in the business's time zone ("20:00 in
Paris"). :func:`local_to_utc` turns a local date and time into the UTC instant stored; a local
time that does not exist (the spring-forward gap, 02:30 on the last Sunday of March) moves
forward by the gap, and an ambiguous one (the autumn repeat) takes its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC

# How long the next person on the waiting list has to accept a freed seat.
DEFAULT_OFFER_HOURS = 12
# An offer never outlives the session's start minus this margin (nobody accepts a seat for a
# class that has begun); a seat freed later than that goes to the first person still waiting
# for the shortest useful time.
OFFER_MIN_MINUTES = 15
# When a reminder goes out: the day before, from this local hour on.
REMINDER_LOCAL_HOUR = 9
# After the end of a session: when the one-question feedback request goes out.
FEEDBACK_DELAY = dt.timedelta(hours=2)
# A feedback link's validity.
FEEDBACK_VALIDITY = dt.timedelta(days=14)
# "Came back to buy": a purchase within this many days after the session.
RETURN_WINDOW_DAYS = 60
# An attendee is "new" when their customer record was created at most this long before they
# registered (the session brought them in).
NEW_CUSTOMER_WINDOW = dt.timedelta(days=1)


def local_to_utc(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of ``day at`` in ``tz`` (gap: forward by the gap; repeat: first)."""
    naive = dt.datetime.combine(day, at.replace(tzinfo=None))
    # PEP 495: fold=0 reads a repeated time as its first occurrence, and a time in the gap
    # with the offset in force before it, which lands after the gap (02:30 -> 03:30).
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def weekly_dates(first: dt.date, weeks: int, exceptions: Iterable[dt.date] = ()) -> list[dt.date]:
    """``weeks`` weekly dates from ``first``, minus the exceptions (they are not replaced)."""
    skip = set(exceptions)
    return [d for d in (first + dt.timedelta(weeks=i) for i in range(weeks)) if d not in skip]


def series_starts(
    first: dt.date, weeks: int, at: dt.time, tz: ZoneInfo, exceptions: Iterable[dt.date] = ()
) -> list[dt.datetime]:
    """The UTC start of every session of a weekly series, each at the same local time."""
    return [local_to_utc(d, at, tz) for d in weekly_dates(first, weeks, exceptions)]


class Placement:
    SEAT = "seat"
    WAITLIST = "waitlist"
    FULL = "full"


def place(capacity: int, seats_taken: int, waitlist_enabled: bool) -> str:
    """Where a new registration goes: a seat, the waiting list, or nowhere (full)."""
    if seats_taken < capacity:
        return Placement.SEAT
    return Placement.WAITLIST if waitlist_enabled else Placement.FULL


def offer_expiry(
    now: dt.datetime, starts_at: dt.datetime, hours: int = DEFAULT_OFFER_HOURS
) -> dt.datetime:
    """When an offer made ``now`` lapses: ``hours`` later, but before the session starts."""
    latest = starts_at - dt.timedelta(minutes=OFFER_MIN_MINUTES)
    return max(now, min(now + dt.timedelta(hours=hours), latest))


@dataclass(frozen=True)
class Holder:
    """A registration holding a seat, as the capacity rule sees it."""

    id: int
    status: str  # "confirmed", "offered" or "attended"
    since: dt.datetime  # when it got the seat


def capacity_cut(holders: Sequence[Holder], new_capacity: int) -> list[int]:
    """Which seat holders go back to the waiting list when the capacity drops.

    Pending offers are withdrawn first (nobody has accepted them yet), then the most recent
    registrations; people who already came (attended) are never moved. Returns ids, in the
    order they should be put back at the head of the waiting list (earliest first).
    """
    excess = len(holders) - new_capacity
    if excess <= 0:
        return []
    movable = [h for h in holders if h.status != "attended"]
    offers = sorted((h for h in movable if h.status == "offered"), key=lambda h: (h.since, h.id))
    confirmed = sorted(
        (h for h in movable if h.status == "confirmed"), key=lambda h: (h.since, h.id)
    )
    # Latest first among each group, offers before confirmed seats.
    order = list(reversed(offers)) + list(reversed(confirmed))
    moved = order[:excess]
    return [h.id for h in sorted(moved, key=lambda h: (h.since, h.id))]


def min_capacity(attended: int) -> int:
    """A session cannot be cut below the people already checked in (and at least one seat)."""
    return max(1, attended)


def reminder_due(now: dt.datetime, starts_at: dt.datetime, tz: ZoneInfo) -> bool:
    """True the day before the session (local dates), from the reminder hour on, and until it
    starts — a registration made on the day itself gets no reminder (they just registered)."""
    local_now = now.astimezone(tz)
    local_start = starts_at.astimezone(tz)
    if now >= starts_at:
        return False
    return (
        local_start.date() - local_now.date() == dt.timedelta(days=1)
        and local_now.hour >= REMINDER_LOCAL_HOUR
    )


def rate(part: int, whole: int) -> float | None:
    """A share in [0, 1], or None when there is nothing to divide (never NaN)."""
    return None if whole <= 0 else part / whole
