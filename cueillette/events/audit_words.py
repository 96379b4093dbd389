"""The events app's entries of the activity log, in words (see ``core.audit_words``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cueillette.core import audit_words
from cueillette.core.audit_words import listing, yes_no


def _when(value: Any) -> str:
    import datetime as dt

    from django.utils import formats

    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return str(formats.date_format(moment, "DATETIME_FORMAT"))


def _session_changed(d: Mapping[str, Any]) -> list[str]:
    before, after = d.get("before") or {}, d.get("after") or {}
    out = []
    if before.get("capacity") != after.get("capacity"):
        out.append(
            _("Seats: %(before)s → %(after)s.")
            % {"before": before.get("capacity"), "after": after.get("capacity")}
        )
    if before.get("starts_at") != after.get("starts_at"):
        out.append(
            _("Moved from %(before)s to %(after)s.")
            % {"before": _when(before.get("starts_at")), "after": _when(after.get("starts_at"))}
        )
    moved = d.get("moved_to_waitlist") or []
    if moved:
        out.append(_("Moved back to the waiting list: %(n)s.") % {"n": len(moved)})
    return out or [_("Details changed.")]


def register() -> None:
    labels = audit_words.KEY_LABELS
    labels.setdefault("session", (gettext_lazy("session"), lambda v: f"#{v}"))
    labels.setdefault("sessions", (gettext_lazy("sessions"), str))
    labels.setdefault("weeks", (gettext_lazy("weeks"), str))
    labels.setdefault("exceptions", (gettext_lazy("dates skipped"), str))
    labels.setdefault("starts_at", (gettext_lazy("starts"), _when))
    labels.setdefault("expires_at", (gettext_lazy("until"), _when))
    labels.setdefault("registrations", (gettext_lazy("registrations"), str))
    labels.setdefault("held_seat", (gettext_lazy("had a seat"), yes_no))
    labels.setdefault("moved_to_waitlist", (gettext_lazy("moved to the waiting list"), listing))
    words = audit_words.words
    words("events.session_created", gettext_lazy("Session offered"))
    words("events.series_created", gettext_lazy("Weekly series offered"))
    words("events.session_updated", gettext_lazy("Session changed"), _session_changed)
    words("events.session_cancelled", gettext_lazy("Session cancelled"))
    words("events.registration_requested", gettext_lazy("Registration waiting for its email"))
    words("events.registration_confirmed", gettext_lazy("Registration confirmed by email"))
    words("events.registration_made", gettext_lazy("Registered for a session"))
    words("events.registration_cancelled", gettext_lazy("Registration cancelled"))
    words("events.seat_offered", gettext_lazy("Seat offered from the waiting list"))
    words("events.offer_accepted", gettext_lazy("Offered seat accepted"))
    words("events.offer_expired", gettext_lazy("Seat offer lapsed"))
    words("events.checked_in", gettext_lazy("Checked in at the door"))
    words("events.walk_in", gettext_lazy("Walk-in checked in"))
    words("events.feedback_recorded", gettext_lazy("Opinion after a session"))
    words("loyalty.event_credited", gettext_lazy("Points for attending a session"))
