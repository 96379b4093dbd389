"""Template helpers of the insights pages and the panel on the staff customer record."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import get_language

from cueillette.customers.models import Customer
from cueillette.insights import queries
from cueillette.insights.labels import segment_label

register = template.Library()


@register.filter
def reason_label(reason: Any) -> str:
    """A reason of the organization's list in the reader's language."""
    return str(reason.label(get_language())) if reason is not None else ""


@register.filter
def percent(value: Any) -> str:
    from cueillette.insights.views import pct

    return pct(value)


@register.filter
def money_or_dash(value: Decimal | None) -> str:
    from cueillette.insights.views import money

    return money(value)


@register.filter
def number_or_dash(value: float | None) -> str:
    from cueillette.insights.views import num

    return num(value, 1)


@register.filter
def segment_name(code: str) -> str:
    return segment_label(code)


@register.inclusion_tag("insights/_customer_panel.html", takes_context=True)
def insights_panel(context: dict[str, Any], customer: Customer) -> dict[str, Any]:
    """ "Probably still active: 82 %, expected spend next 12 months: 340 EUR" on the record."""
    from cueillette.insights.views import explain

    perms = context.get("perms_for_role", set())
    score = queries.score_for(customer) if "view_insights" in perms else None
    return {
        "customer": customer,
        "score": score,
        "explain": explain(score) if score else "",
        "can_manage": "manage_insights" in perms,
        "visible": "view_insights" in perms,
    }
