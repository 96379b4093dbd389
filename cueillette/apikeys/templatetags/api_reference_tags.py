"""Filters of the API reference page."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_TICKS = re.compile(r"`([^`]+)`")


@register.filter
def ticks(text: str) -> SafeString:
    """The schema's descriptions mark code with backticks: escaped text, ``<code>`` spans."""
    escaped = escape(text or "")
    return mark_safe(_TICKS.sub(r"<code>\1</code>", escaped))  # the text was escaped above
