"""Template helpers of the staff referral pages and the panel on the customer record."""

from __future__ import annotations

from typing import Any

from django import template

from cueillette.customers.models import Customer
from cueillette.referrals import queries

register = template.Library()


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``{{ labels|get_item:code }}``: a value of a dict, or the key itself when missing."""
    try:
        return mapping.get(key, key)
    except AttributeError:
        return key


@register.filter
def hint_for(mapping: Any, key: Any) -> Any:
    """``{{ hints|hint_for:pk }}``: a value of a dict, or "" when missing (or no dict)."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.inclusion_tag("referrals/staff/_customer_panel.html", takes_context=True)
def referral_panel(context: dict[str, Any], customer: Customer) -> dict[str, Any]:
    """ "Referred by" and "referred N people" on the staff customer record."""
    perms = context.get("perms_for_role", set())
    return {
        "customer": customer,
        "info": queries.counts_for(customer),
        "can_see_tree": "view_advocates" in perms,
        "can_manage": "manage_referrals" in perms,
        # "Who sent them?" is asked at the counter too (the same checks as at registration).
        "can_record": "serve_customers" in perms,
    }
