"""Small display helpers of the customer pages."""

from __future__ import annotations

from typing import Any

from django import template

from cueillette.core import audit_words
from cueillette.customers.models import HeardFrom, Purpose, Source
from cueillette.customers.normalize import display_phone

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """'+33612345678' -> '06 12 34 56 78'."""
    return display_phone(value or "")


@register.filter
def purpose_label(value: str) -> str:
    try:
        return str(Purpose(value).label)
    except ValueError:
        return value


@register.filter
def source_label(value: str) -> str:
    try:
        return str(Source(value).label)
    except ValueError:
        return value


@register.filter
def heard_from_label(value: str) -> str:
    try:
        return str(HeardFrom(value).label)
    except ValueError:
        return value


@register.filter
def consent_of(customer: Any, purpose: str) -> bool | None:
    """The ``consent_<purpose>`` annotation of a row (True, False, None for never asked)."""
    value = getattr(customer, f"consent_{purpose}", None)
    return None if value is None else bool(value)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def audit_label(action: str) -> str:
    """The label of an action code (cueillette/core/audit_words.py)."""
    return audit_words.action_label(action)


@register.filter
def actor_words(event: Any) -> str:
    """Who recorded a ledger or log entry, worded: "Léa Martin", "API key «Caisse 1»", "the
    customer themselves (in their space)" (cueillette/core/audit_words.py)."""
    return audit_words.actor_text(event)


@register.filter
def join_if_list(value: Any) -> str:
    """Audit data values: lists as "a, b", the rest as text."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


@register.filter
def make_pair(first: Any, second: Any) -> tuple[Any, Any]:
    """Loop over two things side by side: ``{% for c in a|make_pair:b %}``."""
    return (first, second)
