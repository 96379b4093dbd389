"""Calendars: an ``.ics`` file per registration and the subscription of upcoming sessions.

Built with ``icalendar`` (RFC 5545). Times are written in UTC (``...Z``): every calendar shows
them in its reader's zone, so daylight-saving changes need no VTIMEZONE block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from cueillette.core.models import Organization
from cueillette.events.models import Mode, Registration, Session

if TYPE_CHECKING:
    from icalendar import Event


def _event(org: Organization, session: Session, *, reveal_video: bool) -> Event:
    from icalendar import Event

    event = Event()
    event.add("uid", f"session-{session.pk}@{org.slug}.cueillette")
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    event.add("dtstart", session.starts_at.astimezone(dt.UTC))
    event.add("dtend", session.ends_at.astimezone(dt.UTC))
    event.add("summary", session.title)
    url = settings.SITE_URL + reverse(
        "public:event_detail", kwargs={"slug": org.slug, "pk": session.pk}
    )
    description = session.description
    if session.mode == Mode.ONLINE:
        location = session.video_url if reveal_video else ""
    else:
        location = session.location
    if location:
        event.add("location", location)
    event.add("description", f"{description}\n\n{url}".strip())
    event.add("url", url)
    event.add("status", "CANCELLED" if session.is_cancelled else "CONFIRMED")
    return event


def registration_ics(org: Organization, reg: Registration) -> bytes:
    """One session for one registered person (the video link included when online)."""
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", "-//Cueillette//sessions//FR")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add_component(_event(org, reg.session, reveal_video=reg.holds_seat))
    return bytes(cal.to_ical())


def feed_ics(org: Organization, sessions: Iterable[Session]) -> bytes:
    """The subscription of upcoming sessions (never a video link: it is for registered people)."""
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", "-//Cueillette//sessions//FR")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", org.name)
    for session in sessions:
        cal.add_component(_event(org, session, reveal_video=False))
    return bytes(cal.to_ical())
