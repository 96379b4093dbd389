"""The referral API: record a referral (tills, other tools), list and read referrals,
confirm flagged ones, reject pending ones, advocate figures. A thin translation to the services;
errors in the one format ``{code, field, message}``, nothing written on bad input."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.params.functions import Query
from ninja.responses import Status
from pydantic import ConfigDict

from cueillette.api import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, api_actor, paginate, requires
from cueillette.core.audit import Actor
from cueillette.core.errors import NotFound, ServiceError
from cueillette.core.permissions import ApiScope
from cueillette.customers.models import Customer
from cueillette.referrals import queries, rewards, services
from cueillette.referrals.errors import Code
from cueillette.referrals.models import Reason, Referral, ReferralSource, ReferralStatus

router = Router(tags=["referrals"])
LIMIT = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="page size, 200 at most")


class ReferralIn(Schema):
    # The service wants exactly one way to name the referrer: the schema says so.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["referrer_id"],
                    "properties": {"referrer_id": {"type": "integer"}, "code": {"type": "null"}},
                },
                {
                    "required": ["code"],
                    "properties": {"code": {"type": "string"}, "referrer_id": {"type": "null"}},
                },
            ]
        }
    )

    friend_id: int = Field(description="the new customer (already registered)")
    referrer_id: int | None = Field(None, description="the customer who sent them")
    code: str | None = Field(None, description="or the referrer's short code or link token")
    source: str | None = Field(
        None,
        description="link, code or counter (default: counter)",
        json_schema_extra={"enum": [*ReferralSource.values, None]},
    )


class DecisionIn(Schema):
    reason: str | None = Field(None, description="required to reject")


class ReferralOut(Schema):
    id: int
    referrer_id: int
    friend_id: int
    source: str
    status: str
    reason_code: str
    reason_text: str
    flags: list[str]
    under_review: bool
    review_deadline: Any = None
    created_at: Any
    decided_at: Any = None
    confirming_purchase_id: int | None = None
    referrer_points: int
    friend_points: int
    reward_note: str = Field(description="why a side got nothing, in words")
    reward_notes: list[dict[str, Any]] = Field(
        description="the same as codes: referrer_no_card, referrer_cap (with cap), friend_no_card"
    )
    reversal_shortfall: int


class ReferralPage(Schema):
    items: list[ReferralOut]
    next_cursor: str | None


class AdvocateOut(Schema):
    customer_id: int
    direct: int
    confirmed: int
    reach: int
    direct_revenue: str
    reach_revenue: str


class AdvocateList(Schema):
    items: list[AdvocateOut]


def _actor(request: HttpRequest) -> Actor:
    return api_actor(request)


def _customer(pk: int | None, field: str) -> Customer:
    customer = Customer.objects.filter(pk=pk).first() if pk is not None else None
    if customer is None:
        raise NotFound("not_found", _("no customer with this id"), field=field)
    return customer


def _referral(pk: int) -> Referral:
    referral = (
        Referral.objects.select_related("referrer_entry", "friend_entry").filter(pk=pk).first()
    )
    if referral is None:
        raise NotFound("not_found", _("no referral with this id"), field="id")
    return referral


def body(r: Referral) -> dict[str, Any]:
    return {
        "id": r.pk,
        "referrer_id": r.referrer_id,
        "friend_id": r.friend_id,
        "source": r.source,
        "status": r.status,
        "reason_code": r.reason_code,
        # The manager's words; a refund's reason is its code (older rows stored it as text).
        "reason_text": "" if r.reason_code == Reason.REFUNDED else r.reason_text,
        "flags": list(r.flags),
        "under_review": r.under_review,
        "review_deadline": r.review_deadline,
        "created_at": r.created_at,
        "decided_at": r.decided_at,
        "confirming_purchase_id": r.confirming_purchase_id,
        "referrer_points": r.referrer_entry.points if r.referrer_entry else 0,
        "friend_points": r.friend_entry.points if r.friend_entry else 0,
        "reward_note": r.reward_note_text(),
        "reward_notes": list(r.reward_notes or []),
        "reversal_shortfall": r.reversal_shortfall,
    }


def _cents(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}" if cents >= 0 else f"-{_cents(-cents)}"


@router.post("", response={200: ReferralOut, 201: ReferralOut}, summary="Record a referral")
@requires(ApiScope.REFERRALS_WRITE)
def record(request: HttpRequest, payload: ReferralIn) -> Status[dict[str, Any]]:
    """Name the referrer by ``referrer_id`` or ``code`` (exactly one). 201 when recorded (with
    ``flags`` if it goes to review), 200 if this referral already existed. 400
    ``self_referral``, 404 ``unknown_referral_code`` / ``not_found``, 409 ``already_referred``.
    """
    if (payload.referrer_id is None) == (not payload.code):
        raise ServiceError(
            Code.INVALID, _("send referrer_id or code (exactly one)"), field="referrer_id"
        )
    source = payload.source or (ReferralSource.CODE if payload.code else ReferralSource.COUNTER)
    if source not in ReferralSource.values:
        raise ServiceError(Code.INVALID, _("source must be link, code or counter"), field="source")
    friend = _customer(payload.friend_id, "friend_id")
    if payload.code:
        referrer = services.find_code(payload.code).customer
    else:
        referrer = _customer(payload.referrer_id, "referrer_id")
    before = set(Referral.objects.filter(friend=friend).values_list("pk", flat=True))
    referral = services.record_referral(referrer, friend, source=source, actor=_actor(request))
    return Status(200 if referral.pk in before else 201, body(_referral(referral.pk)))


@router.get("", response=ReferralPage, summary="Referrals, newest first")
@requires(ApiScope.REFERRALS_READ)
def list_referrals(
    request: HttpRequest,
    status: str | None = None,
    under_review: bool | None = None,
    referrer_id: int | None = None,
    cursor: str | None = None,
    limit: int = LIMIT,
) -> dict[str, Any]:
    qs = Referral.objects.select_related("referrer_entry", "friend_entry")
    if status:
        if status not in ReferralStatus.values:
            raise ServiceError(
                Code.INVALID, _("status must be pending, confirmed or rejected"), field="status"
            )
        qs = qs.filter(status=status)
    if under_review is not None:
        qs = qs.filter(under_review=under_review)
    if referrer_id is not None:
        qs = qs.filter(referrer_id=referrer_id)
    rows, next_cursor = paginate(qs, cursor=cursor, limit=limit, order=("-created_at", "-id"))
    return {"items": [body(r) for r in rows], "next_cursor": next_cursor}


@router.get("/{int:referral_id}", response=ReferralOut, summary="One referral")
@requires(ApiScope.REFERRALS_READ)
def get_referral(request: HttpRequest, referral_id: int) -> dict[str, Any]:
    return body(_referral(referral_id))


@router.post("/{int:referral_id}/confirm", response=ReferralOut, summary="Confirm a referral")
@requires(ApiScope.REFERRALS_MANAGE)
def confirm(request: HttpRequest, referral_id: int, payload: DecisionIn) -> dict[str, Any]:
    """A flagged referral: accept it (rewarded at once if the friend already bought). A
    pending one not under review: confirm it without a recorded purchase (``reason``
    required). 409 ``referral_not_pending`` otherwise."""
    referral = _referral(referral_id)
    if referral.under_review:
        services.review(referral, accept=True, reason=payload.reason or "", actor=_actor(request))
    else:
        rewards.confirm_manually(referral, reason=payload.reason or "", actor=_actor(request))
    return body(_referral(referral_id))


@router.post("/{int:referral_id}/reject", response=ReferralOut, summary="Reject a referral")
@requires(ApiScope.REFERRALS_MANAGE)
def reject(request: HttpRequest, referral_id: int, payload: DecisionIn) -> dict[str, Any]:
    """Any pending referral, flagged or not (a wrong referrer named at the counter);
    ``reason`` is required (400 ``reason_required``). 409 ``referral_already_confirmed``: a
    confirmed referral stays confirmed, its rewards are points already given."""
    services.reject(_referral(referral_id), reason=payload.reason or "", actor=_actor(request))
    return body(_referral(referral_id))


def _advocate_body(a: queries.Advocate) -> dict[str, Any]:
    return {
        "customer_id": a.customer.pk,
        "direct": a.direct,
        "confirmed": a.confirmed,
        "reach": a.reach,
        "direct_revenue": _cents(a.direct_revenue),
        "reach_revenue": _cents(a.reach_revenue),
    }


@router.get("/advocates", response=AdvocateList, summary="Advocates leaderboard")
@requires(ApiScope.REFERRALS_READ)
def advocates(request: HttpRequest, sort: str = "reach", limit: int = LIMIT) -> dict[str, Any]:
    """``sort``: reach, direct, revenue or tree_revenue. Revenue: first-year spending of the
    referred customers, purchases minus refunds, as a decimal string."""
    if sort not in queries.SORTS:
        raise ServiceError(
            Code.INVALID, _("sort must be reach, direct, revenue or tree_revenue"), field="sort"
        )
    return {"items": [_advocate_body(a) for a in queries.advocates(sort=sort, limit=limit)]}


@router.get("/advocates/{int:customer_id}", response=AdvocateOut, summary="One advocate")
@requires(ApiScope.REFERRALS_READ)
def advocate(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    customer = _customer(customer_id, "customer_id")
    for a in queries.advocates(limit=10**9):
        if a.customer.pk == customer.pk:
            return _advocate_body(a)
    return _advocate_body(
        queries.Advocate(
            customer=customer, direct=0, reach=0, confirmed=0, direct_revenue=0, reach_revenue=0
        )
    )
