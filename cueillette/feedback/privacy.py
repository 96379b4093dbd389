"""The customer's answers in their data export, and their anonymisation on erasure.

Erasure keeps the score and the segment (tier, how they came) so that past NPS figures do not
change, and drops what could say who they are: the comment they wrote and the staff's
follow-up notes about them (the latest on the survey, and every one in its history).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cueillette.core import audit
from cueillette.core.audit import Actor
from cueillette.customers.models import Customer
from cueillette.feedback.models import FollowUpNote, Survey


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def export_rows(customer: Customer) -> list[dict[str, Any]]:
    from cueillette.customers.services import history_ids

    rows = (
        Survey.objects.filter(customer_id__in=history_ids(customer))
        .prefetch_related("notes")
        .order_by("sent_at", "id")
    )
    return [
        {
            "sent_at": _iso(s.sent_at),
            "expires_at": _iso(s.expires_at),
            "answered_at": _iso(s.answered_at),
            "score": s.score,
            "comment": s.comment,
            "language": s.language,
            "asked_under_consent_entry": s.consent_id,
            "about_purchase": s.purchase_id,
            "tier_at_the_time": s.tier_code,
            "how_you_came": s.came_from,
            "follow_up": s.follow_up,
            "follow_up_note": s.follow_up_note,
            "follow_up_at": _iso(s.follow_up_at),
            "follow_up_notes": [
                {"at": _iso(n.created_at), "status": n.status, "note": n.text}
                for n in sorted(s.notes.all(), key=lambda n: (n.created_at, n.pk))
            ],
            "invited_to_recommend_us_at": _iso(s.promoter_invited_at),
        }
        for s in rows
    ]


def export_files(customer: Customer) -> Mapping[str, bytes]:
    rows = export_rows(customer)
    if not rows:
        return {}
    body = json.dumps({"surveys": rows}, ensure_ascii=False, indent=2)
    return {"feedback.json": body.encode("utf-8")}


def erase_customer(customer: Customer) -> None:
    """On CUSTOMER_ERASED, inside the erasure's transaction, once per record."""
    count = (
        Survey.objects.filter(customer=customer)
        .exclude(comment="", follow_up_note="")
        .update(comment="", follow_up_note="")
    )
    # The notes' history is only ever appended to; erasure is the one exception: it blanks them.
    notes = FollowUpNote.objects.filter(survey__customer=customer).exclude(text="").update(text="")
    if count or notes:
        audit.record(
            Actor.system("erasure"),
            "feedback.answers_anonymised",
            object_type="customer",
            object_id=customer.pk,
            surveys=count,
            notes=notes,
        )
