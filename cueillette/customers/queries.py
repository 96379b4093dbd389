"""Reads about customers shared by pages, API, exports and tasks."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import BooleanField, Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from cueillette.core.models import AuditEvent
from cueillette.core.tenancy import current_org
from cueillette.customers.models import (
    ConsentEvent,
    Customer,
    CustomerStatus,
    EmailConfirmation,
    Purpose,
)
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
        # A range, not LIKE: LIKE is case-insensitive on SQLite and locale-bound on
        # PostgreSQL, so neither would use the (organization, email) index.
        return base.filter(_prefix("email", q.lower())).order_by("email")[:limit]
    digits = re.sub(r"[\s.\-()/+]", "", q)
    if digits.isdigit() and len(digits) >= 3:
        key = search_digits(q)
        return base.filter(_prefix("search_phone", key)).order_by("search_phone")[:limit]
    folded = fold(q)
    if not folded:
        return base.none()
    parts = folded.split(" ")
    # (condition, order that its index gives): each branch is a range scan stopped by LIMIT.
    # A single OR of the branches would read and sort every match ("mar" matches one
    # customer in ten), too slow at 100,000 customers.
    last_first = ("search_last", "search_first", "id")
    first_last = ("search_first", "search_last", "id")
    branches = [
        (_prefix("search_last", folded), last_first),
        (_prefix("search_first", folded), first_last),
    ]
    if len(parts) >= 2:
        first, rest = parts[0], " ".join(parts[1:])
        branches.append((_prefix("search_first", first) & _prefix("search_last", rest), first_last))
        branches.append((_prefix("search_last", first) & _prefix("search_first", rest), last_first))
    # Each branch gives its first ``limit`` matches in its index order (ids only, an index-only
    # range scan); the answer is the first ``limit`` of their union by name. One statement:
    # the branches are subqueries of the final read (one round trip, not one per branch).
    # Each is wrapped in a derived table, since SQLite refuses ORDER BY/LIMIT on the members of
    # a compound SELECT. The branches are tenant-filtered querysets, compiled by the ORM.
    members, params = [], []
    for i, (cond, order) in enumerate(branches):
        sql, p = base.filter(cond).order_by(*order).values("pk")[:limit].query.sql_with_params()
        members.append(f"SELECT * FROM ({sql}) b{i}")  # noqa: S608 (compiled by the ORM)
        params += list(p)
    ids = RawSQL(" UNION ALL ".join(members), params)  # noqa: S611 (the ORM's SQL, its params)
    return base.filter(pk__in=ids).order_by(*last_first)[:limit]


def _prefix(field: str, prefix: str) -> Q:
    """A prefix match written as a range, so both SQLite and PostgreSQL use the index."""
    if not prefix:
        return Q()
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": upper})


def overview(*, since: dt.datetime) -> dict[str, Any]:
    """Figures for the home page of the current organization."""
    # One pass: the totals and, per purpose, the customers whose latest entry is a grant
    # (the same rule as contactable()).
    totals = with_consents(active_customers()).aggregate(
        total=Count("id"),
        new=Count("id", filter=Q(created_at__gte=since)),
        **{p: Count("id", filter=Q(**{f"consent_{p}": True})) for p in Purpose.values},
    )
    consenting = {p: totals[p] or 0 for p in Purpose.values}
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
        "pending_confirmations": EmailConfirmation.objects.filter(
            used_at__isnull=True, expires_at__gt=timezone.now()
        ).count(),
    }


# --------------------------------------------------------------------------- staff pages


def search_with_consents(query: str, *, limit: int = SEARCH_LIMIT) -> list[Customer]:
    """:func:`search`, each row annotated with ``consent_<purpose>``, in search order."""
    ids = list(search(query, limit=limit).values_list("pk", flat=True))
    rows = {c.pk: c for c in with_consents(Customer.objects.filter(pk__in=ids))}
    return [rows[pk] for pk in ids if pk in rows]


def duplicate_groups(*, limit: int = 50) -> list[dict[str, Any]]:
    """Active customers sharing a normalised email or phone, grouped by the shared value.

    Emails and phones are stored normalised (lowercase email, E.164 phone), so equality on
    the indexed columns is the duplicate rule.
    """
    groups: list[dict[str, Any]] = []
    for field in ("email", "phone"):
        values = list(
            active_customers()
            .exclude(**{field: ""})
            .values(field)
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .order_by("-n", field)
            .values_list(field, flat=True)[:limit]
        )
        if not values:
            continue
        members: dict[str, list[Customer]] = {v: [] for v in values}
        for c in active_customers().filter(**{f"{field}__in": values}).order_by("created_at", "id"):
            members[getattr(c, field)].append(c)
        groups.extend({"field": field, "value": v, "customers": members[v]} for v in values)
    return groups


def pending_confirmations(customer: Customer) -> dict[str, EmailConfirmation]:
    """Per purpose, the newest unused and unexpired email confirmation still awaited."""
    now = timezone.now()
    out: dict[str, EmailConfirmation] = {}
    for pending in EmailConfirmation.objects.filter(
        customer=customer, used_at__isnull=True, expires_at__gt=now
    ).order_by("-requested_at", "-id"):
        out.setdefault(pending.purpose, pending)
    return out


ConsentState = Literal["granted", "awaiting", "withdrawn", "never"]


@dataclass(frozen=True)
class ConsentStatus:
    """The one state of one purpose for one customer, as a person should read it."""

    purpose: str
    state: ConsentState
    event: ConsentEvent | None  # the latest ledger entry, if any
    pending: EmailConfirmation | None  # the confirmation email awaited, if that is the state

    @property
    def granted(self) -> bool:
        return self.state == "granted"


def consent_status(
    purpose: str, event: ConsentEvent | None, pending: EmailConfirmation | None
) -> ConsentStatus:
    """One state per purpose: a consent given holds (an email sent before it no longer
    matters); else an email awaiting confirmation is the state, whatever came before it (the
    withdrawal or the silence it may follow); else the last withdrawal; else never asked."""
    if event is not None and event.granted:
        return ConsentStatus(purpose, "granted", event, None)
    if pending is not None:
        return ConsentStatus(purpose, "awaiting", event, pending)
    if event is not None:
        return ConsentStatus(purpose, "withdrawn", event, None)
    return ConsentStatus(purpose, "never", None, None)


def ledger(ids: list[int]) -> list[ConsentEvent]:
    """Every consent entry of these records (a customer and those merged into it), newest first.

    A merge copies the entries of the merged record onto the survivor, with evidence naming
    the original; each decision is shown once, as its latest copy.
    """
    events = list(
        ConsentEvent.objects.filter(customer_id__in=ids)
        .select_related("wording", "actor_user")
        .order_by("-occurred_at", "-id")
    )
    copied = {e.evidence.get("merged_from_event") for e in events if isinstance(e.evidence, dict)}
    return [e for e in events if e.pk not in copied]


def audit_log(
    *,
    action: str = "",
    actor_id: int | None = None,
    actor_kind: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
    object_type: str = "",
    object_ids: list[str] | None = None,
) -> QuerySet[AuditEvent]:
    """The organization's audit rows, newest first, filtered as the owner asked."""
    qs = AuditEvent.objects.select_related("actor_user").order_by("-created_at", "-id")
    if action:
        qs = qs.filter(action=action) if "." in action else qs.filter(action__startswith=action)
    if actor_id is not None:
        qs = qs.filter(actor_user_id=actor_id)
    if actor_kind:
        qs = qs.filter(actor_kind=actor_kind)
    if since is not None:
        qs = qs.filter(created_at__gte=_start_of(since))
    if until is not None:
        qs = qs.filter(created_at__lt=_start_of(until + dt.timedelta(days=1)))
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_ids:
        qs = qs.filter(object_id__in=object_ids)
    return qs


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


def audit_object_types() -> list[str]:
    """The kinds of things the organization's log speaks of (for the "On" filter)."""
    return list(
        AuditEvent.objects.exclude(object_type="")
        .order_by("object_type")
        .values_list("object_type", flat=True)
        .distinct()
    )


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the organization's time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=current_org().tz)
