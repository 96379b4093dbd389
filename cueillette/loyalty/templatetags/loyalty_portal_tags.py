"""Template tags of the member's pages: the loyalty block of the customer's space."""

from __future__ import annotations

from typing import Any

from django import template

from cueillette.customers.models import Customer
from cueillette.loyalty import services

register = template.Library()


@register.inclusion_tag("loyalty/portal/_space_block.html")
def loyalty_space_block(org: Any, customer: Customer) -> dict[str, Any]:
    """The "My loyalty card" box of the space: balance and a link, or an invitation to join."""
    program = services.get_program()
    card = services.open_card_for(customer)
    return {"org": org, "program": program, "card": card}
