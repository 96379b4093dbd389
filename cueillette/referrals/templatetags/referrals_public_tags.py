"""Template tags of the customer's space: the "Refer a friend" block of the space's home."""

from __future__ import annotations

from typing import Any

from django import template

from cueillette.customers.models import Customer
from cueillette.referrals import services

register = template.Library()


@register.inclusion_tag("referrals/public/_space_block.html")
def referral_space_block(org: Any, customer: Customer) -> dict[str, Any]:
    """A short box with the number of friends who joined and a link to the member's page."""
    from cueillette.referrals.views_public import gifts

    program = services.get_program()
    summary = services.member_summary(customer) if program.enabled else {}
    # Points are promised with their condition (the friend's first purchase, its minimum).
    condition = gifts(program, org)["their_condition"] if program.enabled else ""
    return {"org": org, "program": program, "summary": summary, "condition": condition}


@register.simple_tag
def referrals_open() -> bool:
    """Whether the organization's referral program is open (the join page's code field)."""
    return bool(services.get_program().enabled)
