"""What insights knows about a customer in their data export, and its removal on erasure.

Export: their figures (segment, scores, probability of still being a customer, forecasts),
the reasons recorded for their leaving and the notes of contacts with them. Erasure drops the
figures (they describe a person), blanks the comments and notes (the one exception to their
append-only rule) and keeps the bare reason codes, so the lost-revenue history still adds up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cueillette.core import audit
from cueillette.core.audit import Actor
from cueillette.customers.models import Customer
from cueillette.insights.models import ContactNote, CustomerScore, ExitSurvey, ReasonAttachment


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def export_files(customer: Customer) -> Mapping[str, bytes]:
    score = CustomerScore.objects.filter(customer=customer).first()
    reasons = ReasonAttachment.objects.filter(customer=customer).select_related("reason", "change")
    notes = ContactNote.objects.filter(customer=customer)
    surveys = ExitSurvey.objects.filter(customer=customer)
    if score is None and not reasons.exists() and not notes.exists() and not surveys.exists():
        return {}
    body: dict[str, Any] = {
        "figures": None
        if score is None
        else {
            "segment": score.segment,
            "recency_score": score.recency_score,
            "frequency_score": score.frequency_score,
            "value_score": score.value_score,
            "purchases": score.purchases,
            "lapsed": score.lapsed,
            "probability_still_a_customer": score.p_alive,
            "expected_spend_12_months": None if score.spend_12m is None else str(score.spend_12m),
            "computed_at": _iso(score.run.as_of),
        },
        "reasons_for_leaving": [
            {
                "at": _iso(r.created_at),
                "source": r.source,
                "reason": r.reason.label_en if r.reason else None,
                "change": r.change.title if r.change else None,
                "comment": r.comment,
            }
            for r in reasons.order_by("created_at", "id")
        ],
        "contact_notes": [{"at": _iso(n.created_at), "note": n.text} for n in notes],
        "exit_surveys": [
            {"sent_at": _iso(s.sent_at), "answered_at": _iso(s.answered_at)} for s in surveys
        ],
    }
    return {"insights.json": json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")}


def erase_customer(customer: Customer) -> None:
    """On CUSTOMER_ERASED, inside the erasure's transaction."""
    scores, _ = CustomerScore.objects.filter(customer=customer).delete()
    comments = (
        ReasonAttachment.objects.filter(customer=customer).exclude(comment="").update(comment="")
    )
    notes = ContactNote.objects.filter(customer=customer).exclude(text="").update(text="")
    if scores or comments or notes:
        audit.record(
            Actor.system("erasure"),
            "insights.customer_anonymised",
            object_type="customer",
            object_id=customer.pk,
            scores=scores,
            comments=comments,
            notes=notes,
        )
