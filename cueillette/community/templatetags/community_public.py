"""Filters of the public community pages: customers' text as safe text, public labels."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from babel.numbers import format_decimal
from django import template
from django.utils.html import escape, urlize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_noop, ngettext
from django.utils.translation import gettext as _

from cueillette.community.models import HideReason, PostStatus

register = template.Library()

REL = "nofollow ugc noopener"
_ANCHOR = re.compile(r'<a href="([^"]*)"(?: rel="[^"]*")?>')

# The moderator's role as the public sees it (never a name).
ROLE_LABELS = {
    "owner": gettext_noop("the owner"),
    "manager": gettext_noop("a manager"),
    "counter": gettext_noop("a staff member"),
    "customer": gettext_noop("the author"),
    "system": gettext_noop("the system"),
    # An API key (a till, the business's own tools): said as such, not passed off as a person.
    "api": gettext_noop("the business's software"),
}


@register.filter
def ugc(value: Any) -> SafeString:
    """Text typed by a customer: escaped, with web addresses as links that search engines do
    not follow (``rel="nofollow ugc noopener"``). Never HTML, never Markdown."""
    text = "" if value is None else str(value)
    # urlize escapes everything that is not a link it makes (autoescape=True); it links
    # only http(s)://, www. and bare domains and email addresses: never javascript: or data:.
    html = urlize(text, nofollow=True, autoescape=True)
    html = _ANCHOR.sub(lambda m: f'<a href="{m.group(1)}" rel="{REL}">', html)
    return mark_safe(html)


@register.filter
def reason_label(value: Any) -> str:
    try:
        return str(HideReason(value).label)
    except ValueError:
        return escape(str(value))


@register.filter
def percent(value: Any) -> str:
    """``{{ 50|percent }}``: "50%" in English, "50 %" in French (narrow no-break space)."""
    if value is None or value == "":
        return "—"
    lang = (get_language() or "fr")[:2]
    number = format_decimal(value, format="#,##0.#", locale=lang)
    return f"{number}%" if lang == "en" else f"{number}\u202f%"


@register.filter
def status_label(value: Any) -> str:
    """A post status code ("acknowledged") in words, in the reader's language."""
    try:
        return str(PostStatus(value).label)
    except ValueError:
        return str(value)


@register.filter
def role_label(value: Any) -> str:
    label = ROLE_LABELS.get(str(value))
    return _(label) if label else _("a staff member")


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """ "5 hours", "2 days", "less than an hour"."""
    if value is None:
        return ""
    hours = value.total_seconds() / 3600
    if hours < 1:
        return _("less than an hour")
    if hours < 48:
        n = round(hours)
        return ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}
    n = round(hours / 24)
    return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}


@register.filter
def stars(value: Any) -> str:
    try:
        n = max(0, min(5, int(value)))
    except (TypeError, ValueError):
        return ""
    return "★" * n + "☆" * (5 - n)


@register.filter
def theme_label(name: str) -> str:
    """A default theme's name in the current language; an organization's own name as is."""
    from cueillette.community.dashboard import theme_label as label

    return label(name)


@register.filter
def reason_definition(value: Any) -> str:
    """What a hiding reason covers, in the reader's language ("" for an unknown code)."""
    from cueillette.community.models import HIDE_REASON_DEFINITIONS

    definition = HIDE_REASON_DEFINITIONS.get(str(value))
    return str(definition) if definition else ""


@register.filter
def hint(mapping: Any, key: Any) -> Any:
    """``{{ thread.reply_hides|hint:reply.pk }}``: a value of a dict, or None."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
