"""Reads shared by the pages, the API and the feeds: upcoming sessions, a session's people,
and the figures afterwards (attendance, no-shows, new customers, who came back to buy).

Definitions (shown next to each figure on the pages):

* **attended**: checked in at the door (walk-ins included);
* **no-show**: had a seat when the session ended but was not checked in;
* **attendance rate**: attended / (attended + no-shows), for sessions that have ended;
* **new customers**: attendees whose customer record was created at most a day before they
  registered (the session brought them in);
* **came back to buy**: attendees with a purchase within 60 days after the session's end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from cueillette.events import rules
from cueillette.events.models import (
    SEAT_STATUSES,
    Registration,
    RegStatus,
    Series,
    Session,
    SessionStatus,
)


def upcoming(now: dt.datetime | None = None, limit: int = 100) -> QuerySet[Session]:
    """Scheduled sessions that have not ended, soonest first, with their seat counts."""
    now = now or timezone.now()
    return (
        Session.objects.filter(
            status=SessionStatus.SCHEDULED, starts_at__gt=now - dt.timedelta(hours=24)
        )
        .annotate(
            seats=Count("registrations", filter=Q(registrations__status__in=SEAT_STATUSES)),
            waiting=Count("registrations", filter=Q(registrations__status=RegStatus.WAITLISTED)),
        )
        .order_by("starts_at", "id")[:limit]
    )


def public_upcoming(now: dt.datetime | None = None, limit: int = 100) -> list[Session]:
    now = now or timezone.now()
    return [s for s in upcoming(now, limit) if s.ends_at > now]


def past(now: dt.datetime | None = None, limit: int = 50) -> QuerySet[Session]:
    now = now or timezone.now()
    return (
        Session.objects.filter(starts_at__lte=now)
        .annotate(
            seats=Count("registrations", filter=Q(registrations__status__in=SEAT_STATUSES)),
            waiting=Count("registrations", filter=Q(registrations__status=RegStatus.WAITLISTED)),
        )
        .order_by("-starts_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class People:
    seats: list[Registration]  # confirmed, offered, attended: the door list
    waiting: list[Registration]  # in the list's order
    other: list[Registration]  # cancelled, lapsed offers, refused (kept for the record)
    pending: int  # visitors who have not confirmed their email yet


def people(session: Session) -> People:
    regs = list(
        Registration.objects.filter(session=session)
        .select_related("customer")
        .order_by("name", "id")
    )
    seats = [r for r in regs if r.status in SEAT_STATUSES]
    waiting = sorted(
        (r for r in regs if r.status == RegStatus.WAITLISTED),
        key=lambda r: (r.queued_at or r.created_at, r.pk),
    )
    other = [
        r
        for r in regs
        if r.status not in SEAT_STATUSES
        and r.status not in (RegStatus.WAITLISTED, RegStatus.PENDING)
    ]
    pending = sum(1 for r in regs if r.status == RegStatus.PENDING)
    return People(seats, waiting, other, pending)


@dataclass(frozen=True)
class Figures:
    """What a session (or a series, or every session) gave, with nothing divided by zero."""

    sessions: int
    ended: int
    seats: int
    attended: int
    no_shows: int
    walk_ins: int
    waitlisted_peak: int
    attendance_rate: float | None
    no_show_rate: float | None
    new_customers: int
    came_back: int
    came_back_rate: float | None
    feedback_answers: int
    feedback_average: float | None


def figures(sessions: Iterable[Session], now: dt.datetime | None = None) -> Figures:
    from cueillette.loyalty.models import Purchase

    now = now or timezone.now()
    sessions = list(sessions)
    ids = [s.pk for s in sessions]
    ended_ids = {s.pk for s in sessions if s.ends_at <= now and not s.is_cancelled}
    end_of = {s.pk: s.ends_at for s in sessions}
    regs = list(Registration.objects.filter(session_id__in=ids).select_related("customer"))
    attended = [r for r in regs if r.status == RegStatus.ATTENDED]
    no_shows = [
        r
        for r in regs
        if r.session_id in ended_ids and r.status in (RegStatus.CONFIRMED, RegStatus.OFFERED)
    ]
    seats = [r for r in regs if r.status in SEAT_STATUSES]
    new = 0
    for r in attended:
        if r.customer is not None and r.customer.created_at >= (
            r.created_at - rules.NEW_CUSTOMER_WINDOW
        ):
            new += 1
    # Came back to buy: one query for all attendees' purchases in the window.
    came_back = 0
    customer_ids = {r.customer_id for r in attended if r.customer_id}
    if customer_ids:
        earliest = min(end_of[r.session_id] for r in attended)
        latest = max(end_of[r.session_id] for r in attended) + dt.timedelta(
            days=rules.RETURN_WINDOW_DAYS
        )
        buys: dict[int, list[dt.datetime]] = {}
        for cid, at in Purchase.objects.filter(
            card__customer_id__in=customer_ids,
            occurred_at__gt=earliest,
            occurred_at__lte=latest,
        ).values_list("card__customer_id", "occurred_at"):
            buys.setdefault(cid, []).append(at)
        window = dt.timedelta(days=rules.RETURN_WINDOW_DAYS)
        for r in attended:
            end = end_of[r.session_id]
            if any(end < at <= end + window for at in buys.get(r.customer_id or 0, [])):
                came_back += 1
    scores = [r.feedback_score for r in regs if r.feedback_score is not None]
    waiting_counts = [
        sum(1 for r in regs if r.session_id == s and r.status == RegStatus.WAITLISTED) for s in ids
    ]
    return Figures(
        sessions=len(sessions),
        ended=len(ended_ids),
        seats=len(seats),
        attended=len(attended),
        no_shows=len(no_shows),
        walk_ins=sum(1 for r in attended if r.walk_in),
        waitlisted_peak=max(waiting_counts, default=0),
        attendance_rate=rules.rate(
            sum(1 for r in attended if r.session_id in ended_ids),
            sum(1 for r in attended if r.session_id in ended_ids) + len(no_shows),
        ),
        no_show_rate=rules.rate(
            len(no_shows),
            sum(1 for r in attended if r.session_id in ended_ids) + len(no_shows),
        ),
        new_customers=new,
        came_back=came_back,
        came_back_rate=rules.rate(came_back, len(attended)),
        feedback_answers=len(scores),
        feedback_average=(sum(scores) / len(scores)) if scores else None,
    )


def series_with_sessions() -> list[tuple[Series, list[Session]]]:
    out: list[tuple[Series, list[Session]]] = []
    sessions: dict[int, list[Session]] = {}
    for s in Session.objects.filter(series__isnull=False).order_by("starts_at"):
        sessions.setdefault(s.series_id or 0, []).append(s)
    for series in Series.objects.all():
        out.append((series, sessions.get(series.pk, [])))
    return out


def customer_registrations(customer_ids: Sequence[int]) -> list[Registration]:
    """A customer's registrations, newest session first (their space, their record)."""
    return list(
        Registration.objects.filter(customer_id__in=customer_ids)
        .exclude(status=RegStatus.PENDING)
        .select_related("session")
        .order_by("-session__starts_at", "-id")
    )
