"""The "messages received and why" panel of the customer record (customers does not import
messaging: its template loads this tag)."""

from __future__ import annotations

from typing import Any

from django import template

from cueillette.customers.models import Customer
from cueillette.messaging import queries
from cueillette.messaging.automatic import KINDS

register = template.Library()


@register.inclusion_tag("messaging/_customer_panel.html")
def messages_panel(customer: Customer) -> dict[str, Any]:
    from cueillette.customers.services import history_ids

    rows = queries.received(history_ids(customer))
    for d in rows:
        kind = KINDS.get(d.kind)
        d.kind_label = str(kind.label) if kind else d.kind.replace("_", " ")  # type: ignore[attr-defined]
    return {"rows": rows}
