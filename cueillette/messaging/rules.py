"""The send gate's rules, pure (no database, no clock): consent at a time, the pressure cap,
quiet hours in the organization's zone, and :func:`decide`, which the per-message gate
(``gate.request_message``) and the set-based audience decision (``audience.decide_audience``)
both call, so a count on the campaign page and a send can never disagree."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cueillette.messaging.models import Channel, MessageClass, Reason, Status

# The consent source the unsubscribe link writes (customers.models.Source.UNSUBSCRIBE_LINK).
UNSUBSCRIBE_SOURCE = "unsubscribe_link"

# Which channels a purpose's consent opens. Loyalty's consent is the basis of the service
# messages about the card (expiry, reward available) by email; "profiling" (personalised
# offers) opens no channel: it is an extra condition (birthday messages).
PURPOSE_CHANNELS: dict[str, frozenset[str]] = {
    "news_email": frozenset({Channel.EMAIL}),
    "news_sms": frozenset({Channel.SMS}),
    "loyalty": frozenset({Channel.EMAIL}),
    "community": frozenset({Channel.EMAIL}),
    "feedback": frozenset({Channel.EMAIL}),
    "profiling": frozenset(),
}

CAPPED_CLASSES = frozenset({MessageClass.MARKETING})
QUIET_CLASSES = frozenset({MessageClass.MARKETING})
FREE_CLASSES = frozenset({MessageClass.TRANSACTIONAL, MessageClass.STAFF})


@dataclass(frozen=True)
class Entry:
    """One consent ledger entry, as the rules see it."""

    id: int
    purpose: str
    granted: bool
    occurred_at: dt.datetime
    source: str = ""


@dataclass(frozen=True)
class ConsentVerdict:
    entry: Entry | None  # the grant that allows the message
    reason: Reason  # ALLOWED, NO_CONSENT or UNSUBSCRIBED


@dataclass(frozen=True)
class Quiet:
    """Quiet hours in the organization's zone (start == end: none)."""

    start: dt.time
    end: dt.time
    tz: str


@dataclass(frozen=True)
class Facts:
    """Everything :func:`decide` needs about one message to one customer at one time."""

    klass: str
    channel: str
    now: dt.datetime
    has_address: bool
    active: bool = True
    enabled: bool = True
    suppression: str | None = None  # a SuppressionReason value
    paused_until: dt.datetime | None = None
    consent: ConsentVerdict | None = None
    marketing_in_window: int = 0
    cap: int = 2
    quiet: Quiet | None = None
    # The end of quiet hours when the caller computed it once for many facts at one ``now``.
    quiet_until: dt.datetime | None = None
    held_back: bool = False


@dataclass(frozen=True)
class Decision:
    status: Status
    reason: Reason
    entry: Entry | None = None
    send_after: dt.datetime | None = None

    @property
    def goes_out(self) -> bool:
        return self.status in (Status.QUEUED, Status.DEFERRED)


def latest_at(entries: Iterable[Entry], purpose: str, at: dt.datetime) -> Entry | None:
    """The entry in force for ``purpose`` at ``at``: the latest one that occurred by then."""
    best: Entry | None = None
    for e in entries:
        if e.purpose != purpose or e.occurred_at > at:
            continue
        if best is None or (e.occurred_at, e.id) > (best.occurred_at, best.id):
            best = e
    return best


def consent_for(
    entries: Sequence[Entry],
    purposes: Sequence[str],
    channel: str,
    at: dt.datetime,
    *,
    also: Sequence[str] = (),
) -> ConsentVerdict:
    """Is there a grant, in force at ``at``, for one of ``purposes`` on ``channel`` (and for
    each of ``also``)? The first purpose granted is the one that allows the message."""
    allowing: Entry | None = None
    unsubscribed = False
    for purpose in purposes:
        if channel not in PURPOSE_CHANNELS.get(purpose, frozenset()):
            continue
        entry = latest_at(entries, purpose, at)
        if entry is not None and entry.granted:
            allowing = entry
            break
        if entry is not None and entry.source == UNSUBSCRIBE_SOURCE:
            unsubscribed = True
    if allowing is None:
        return ConsentVerdict(None, Reason.UNSUBSCRIBED if unsubscribed else Reason.NO_CONSENT)
    for purpose in also:
        entry = latest_at(entries, purpose, at)
        if entry is None or not entry.granted:
            return ConsentVerdict(None, Reason.NO_CONSENT)
    return ConsentVerdict(allowing, Reason.ALLOWED)


def is_quiet(local: dt.time, start: dt.time, end: dt.time) -> bool:
    """Is ``local`` (wall clock) inside quiet hours from ``start`` until ``end``?"""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # across midnight: 21:00 → 08:00


def next_allowed(now: dt.datetime, quiet: Quiet) -> dt.datetime | None:
    """None if ``now`` is outside quiet hours, else the first instant after them (UTC).

    Computed on the wall clock of the organization's zone, so "until 08:00" stays 08:00 local
    across a change of summer time; an end time that a spring-forward skips (02:30 on the last
    Sunday of March) resolves, as ``zoneinfo`` does, to the same distance past the gap (03:30).
    """
    tz = zoneinfo.ZoneInfo(quiet.tz)
    local = now.astimezone(tz)
    if not is_quiet(local.time().replace(tzinfo=None), quiet.start, quiet.end):
        return None
    day = local.date()
    if quiet.start > quiet.end and local.time().replace(tzinfo=None) >= quiet.start:
        day += dt.timedelta(days=1)  # evening part: the quiet hours end tomorrow morning
    end = dt.datetime.combine(day, quiet.end, tzinfo=tz)
    result = end.astimezone(dt.UTC)
    if result <= now:  # pragma: no cover - defensive: quiet hours always end after now
        result = now + dt.timedelta(minutes=1)
    return result


def cap_for(max_marketing: int, fewer: bool) -> int:
    """The customer's cap: the organization's, or one message per window if they asked fewer."""
    return min(max_marketing, 1) if fewer else max_marketing


def decide(f: Facts) -> Decision:
    """The gate's decision for one message, by its class.

    Transactional and staff mail needs only an address (and the owner's switch, where its kind
    has one). Every other message needs a live
    record, an unsuppressed address and a consent in force for its purpose and channel; the
    owner's switch and the customer's pause also apply. Marketing is further capped per window
    and moved out of quiet hours."""
    if not f.has_address:
        return Decision(Status.REFUSED, Reason.NO_ADDRESS)
    if not f.enabled:
        # The owner's switch, for the automatic kinds that have one (an event reminder is
        # transactional yet switchable; a magic link or a receipt has no switch).
        return Decision(Status.REFUSED, Reason.SWITCHED_OFF)
    if f.klass in FREE_CLASSES:
        return Decision(Status.QUEUED, Reason.TRANSACTIONAL)
    if not f.active:
        return Decision(Status.REFUSED, Reason.INACTIVE)
    if f.suppression is not None:
        bounced = f.suppression in ("hard_bounce", "complaint")
        if f.suppression == "unsubscribe":
            return Decision(Status.REFUSED, Reason.UNSUBSCRIBED)
        return Decision(Status.REFUSED, Reason.BOUNCED if bounced else Reason.SUPPRESSED)
    consent = f.consent or ConsentVerdict(None, Reason.NO_CONSENT)
    if consent.entry is None:
        return Decision(Status.REFUSED, consent.reason)
    if f.paused_until is not None and f.paused_until > f.now:
        return Decision(Status.REFUSED, Reason.PAUSED)
    if f.klass in CAPPED_CLASSES and f.marketing_in_window >= f.cap:
        return Decision(Status.REFUSED, Reason.CAPPED)
    if f.held_back:
        return Decision(Status.REFUSED, Reason.HELD_BACK, consent.entry)
    if f.klass in QUIET_CLASSES:
        later = next_allowed(f.now, f.quiet) if f.quiet is not None else f.quiet_until
        if later is not None:
            return Decision(Status.DEFERRED, Reason.QUIET_HOURS, consent.entry, later)
    return Decision(Status.QUEUED, Reason.ALLOWED, consent.entry)


def held_back(campaign_id: int, customer_id: int, percent: int) -> bool:
    """A stable share of the audience kept out to compare results (same answer on a retry)."""
    if percent <= 0:
        return False
    return (campaign_id * 2_654_435_761 + customer_id * 40_503) % 100 < percent


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after ``attempts`` failures: 1, 4, 16, 64 minutes, then 4 h."""
    return dt.timedelta(minutes=min(4 ** max(attempts - 1, 0), 240))


MAX_ATTEMPTS = 6
