"""Reads about customers shared by pages, API, exports and tasks."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db.models import BooleanField, Count, Exists, OuterRef, Q, QuerySet, Subquery

from cueillette.customers.models import ConsentEvent, Customer, CustomerStatus, Purpose
from cueillette.customers.normalize import fold, search_digits

SEARCH_LIMIT = 50


def active_customers() -> QuerySet[Customer]:
    return Customer.objects.filter(status=CustomerStatus.ACTIVE)


def latest_consent(purpose: str) -> Subquery:
    """Subquery: the ``granted`` flag of the customer's latest entry for ``purpose``."""
    return Subquery(
        ConsentEvent.objects.filter(customer=OuterRef("pk"), purpose=purpose)
        .order_by("-occurred_at", "-id")
        .values("granted")[:1],
        output_field=BooleanField(),
    )


def contactable(purpose: str) -> QuerySet[Customer]:
    """Who may we contact for ``purpose``: active customers whose latest entry is a grant.

    A withdrawn purpose never appears: only the latest entry counts.
    """
    return active_customers().annotate(_consent=latest_consent(purpose)).filter(_consent=True)


def with_consents(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """Annotate ``consent_<purpose>`` (True, False or None for never asked) on each row."""
    return qs.annotate(**{f"consent_{p}": latest_consent(p) for p in Purpose.values})


def search(query: str, *, limit: int = SEARCH_LIMIT) -> QuerySet[Customer]:
    """Find by email, phone (any common format) or name prefix, fast at 100,000 customers.

    Every branch is an index range scan on (organization, key): email equality, phone digits
    prefix, folded last or first name prefix (``a b`` also tries first+last both ways).
    """
    q = query.strip()
    base = active_customers()
    if not q:
        return base.order_by("-created_at")[:limit]
    if "@" in q:
        return base.filter(email__startswith=q.lower()).order_by("email")[:limit]
    digits = re.sub(r"[\s.\-()/+]", "", q)
    if digits.isdigit() and len(digits) >= 3:
        key = search_digits(q)
        return base.filter(_prefix("search_phone", key)).order_by("search_phone")[:limit]
    folded = fold(q)
    if not folded:
        return base.none()
    parts = folded.split(" ")
    cond = _prefix("search_last", folded) | _prefix("search_first", folded)
    if len(parts) >= 2:
        first, rest = parts[0], " ".join(parts[1:])
        cond |= _prefix("search_first", first) & _prefix("search_last", rest)
        cond |= _prefix("search_last", first) & _prefix("search_first", rest)
    return base.filter(cond).order_by("search_last", "search_first", "id")[:limit]


def _prefix(field: str, prefix: str) -> Q:
    """A prefix match written as a range, so both SQLite and PostgreSQL use the index."""
    if not prefix:
        return Q()
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": upper})


def overview(*, since: dt.datetime) -> dict[str, Any]:
    """Figures for the home page of the current organization."""
    active = active_customers()
    totals = active.aggregate(total=Count("id"), new=Count("id", filter=Q(created_at__gte=since)))
    consenting = {p: contactable(p).count() for p in Purpose.values}
    total = totals["total"] or 0
    return {
        "customers": total,
        "new_customers": totals["new"] or 0,
        "consents": [
            {
                "purpose": p,
                "label": Purpose(p).label,
                "count": consenting[p],
                "share": round(100 * consenting[p] / total) if total else 0,
            }
            for p in Purpose.values
        ],
        "pending_confirmations": 0,
    }


