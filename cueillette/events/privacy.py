"""A customer's registrations in their own data export, and blanked at their erasure."""

from __future__ import annotations

import json
from collections.abc import Mapping

from cueillette.customers.models import Customer
from cueillette.events.models import Registration


def export_files(customer: Customer) -> Mapping[str, bytes]:
    rows = [
        {
            "session": reg.session.title,
            "starts_at": reg.session.starts_at.isoformat(),
            "status": reg.status,
            "registered_at": reg.created_at.isoformat(),
            "checked_in_at": reg.checked_in_at.isoformat() if reg.checked_in_at else None,
            "answer": reg.answer,
            "feedback_score": reg.feedback_score,
            "feedback_comment": reg.feedback_comment,
        }
        for reg in Registration.objects.filter(customer=customer).select_related("session")
    ]
    if not rows:
        return {}
    return {"sessions.json": json.dumps(rows, ensure_ascii=False, indent=2).encode("utf-8")}


def erase_customer(customer: Customer) -> None:
    """Names, email, answers and comments typed by the person go; attendance stays counted."""
    Registration.objects.filter(customer=customer).update(
        name="", first_name="", last_name="", email="", answer="", feedback_comment="", consents=[]
    )
