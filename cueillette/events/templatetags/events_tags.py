"""Template tags of the events pages: local times, shares, seats, the space's list."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import formats
from django.utils.translation import gettext as _

from cueillette.core.tenancy import current_org
from cueillette.events import queries, services
from cueillette.events.models import Session

register = template.Library()


@register.simple_tag
def local_when(session: Session) -> str:
    """ "mardi 3 mars 2026, 20:00" in the business's time zone and the page's language."""
    local = session.starts_at.astimezone(current_org().tz)
    return _("%(day)s, %(time)s") % {
        "day": formats.date_format(local, "l j F Y"),
        "time": formats.time_format(local, "H:i"),
    }


@register.simple_tag
def percent(value: float | None) -> str:
    """A share as "82 %" (French) / "82%" (English); "—" when there is nothing to divide."""
    if value is None:
        return "—"
    return _("%(n)s%%") % {"n": formats.number_format(round(value * 100))}


@register.simple_tag
def seats_of(session: Session) -> int:
    return services.seats_taken(session)


@register.inclusion_tag("events/public/_space_sessions.html", takes_context=True)
def events_space(context: dict[str, Any], customer: Any) -> dict[str, Any]:
    """The customer's sessions in their space, each with its own page (cancel, calendar)."""
    regs = queries.customer_registrations([customer.pk])
    return {
        "org": context.get("org"),
        "rows": [(r, services.manage_token(r)) for r in regs[:20]],
    }
