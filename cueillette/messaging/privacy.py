"""The customer's rights over the decision log: in their export, blanked on erasure."""

from __future__ import annotations

import json
from collections.abc import Mapping

from cueillette.core import consequences
from cueillette.core.consequences import Consequence, Fired, Phase
from cueillette.customers.models import Customer
from cueillette.messaging.models import Delivery, Preference


def export(customer: Customer) -> Mapping[str, bytes]:
    rows = [
        {
            "kind": d.kind,
            "class": d.klass,
            "channel": d.channel,
            "purpose": d.purpose,
            "status": d.status,
            "reason": d.reason,
            "consent_entry": d.consent_event_id,
            "decided_at": d.decided_at.isoformat(),
            "sent_at": d.sent_at.isoformat() if d.sent_at else None,
            "subject": d.subject,
        }
        for d in Delivery.objects.filter(customer=customer).order_by("decided_at", "pk")
    ]
    return {"messages.json": json.dumps(rows, ensure_ascii=False, indent=2).encode()}


def erase(customer: Customer) -> None:
    """Keep the decisions (counts, reasons), drop the address, subject and any pending text."""
    Delivery.objects.filter(customer=customer).update(address="", subject="", payload={})
    Preference.objects.filter(customer=customer).delete()


def on_erased(fired: Fired) -> None:
    """CUSTOMER_ERASED subscriber, inside the erasure's transaction."""
    erase(fired["customer"])


def on_address_suppressed(fired: Fired) -> None:
    """ADDRESS_SUPPRESSED subscriber (an import's cleaned rows): the gate's list, at once."""
    from cueillette.messaging import services

    services.suppress(
        fired["address"],
        fired["reason"],
        channel=fired["channel"],
        detail=fired.get("detail", ""),
        actor=fired.get("actor"),
    )


def register() -> None:
    from cueillette.customers import portal

    consequences.subscribe(Consequence.CUSTOMER_ERASED, on_erased, phase=Phase.IN_TRANSACTION)
    consequences.subscribe(
        Consequence.ADDRESS_SUPPRESSED, on_address_suppressed, phase=Phase.IN_TRANSACTION
    )
    portal.register_exporter(export)
