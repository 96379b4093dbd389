"""The feedback API: the NPS summary, the answers (cursor pages), a detractor's follow-up.

A thin translation to :mod:`cueillette.feedback.queries` and :mod:`.services`; rows are those
of the key's organization only; errors are ``{"error": {"code", "field", "message"}}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.params.functions import Query

from cueillette.api import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, api_actor, paginate, requires
from cueillette.core.errors import NotFound, ServiceError
from cueillette.core.permissions import ApiScope
from cueillette.feedback import queries, services
from cueillette.feedback.errors import Code
from cueillette.feedback.models import Category, Survey

router = Router(tags=["feedback"])

LIMIT = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="page size, 200 at most")


class NpsOut(Schema):
    nps: int | None = Field(description="% promoters - % detractors, -100 to 100; null: no answer")
    answers: int
    promoters: int
    passives: int
    detractors: int


class MonthOut(NpsOut):
    month: str = Field(description="YYYY-MM, in the business's time zone")


class SegmentOut(NpsOut):
    key: str = Field(description="tier code, or how the customer came (referral, friend...)")
    label: str


class SegmentsOut(Schema):
    tier: list[SegmentOut]
    came_from: list[SegmentOut]


class SummaryOut(Schema):
    overall: NpsOut
    months: list[MonthOut]
    segments: SegmentsOut


class FollowUpOut(Schema):
    status: str = Field(description="none, to_contact, contacted or resolved")
    note: str = Field(description="the latest note")
    by: str | None
    at: dt.datetime | None


class ResponseOut(Schema):
    id: int
    customer_id: int
    sent_at: dt.datetime
    answered_at: dt.datetime | None
    score: int | None
    category: str | None
    comment: str
    language: str
    tier_code: str
    came_from: str
    follow_up: FollowUpOut


class ResponsePage(Schema):
    items: list[ResponseOut]
    next_cursor: str | None


class FollowUpIn(Schema):
    status: str = Field(
        description="to_contact, contacted or resolved",
        json_schema_extra={"enum": ["to_contact", "contacted", "resolved"]},
    )
    note: str | None = Field(
        None,
        description="what was done, added to the notes (earlier ones are kept); "
        "omitted or empty: no new note",
    )


def _segment(rows: list[queries.SegmentNps]) -> list[dict[str, Any]]:
    return [{"key": r.key, "label": r.label, **r.nps.as_dict()} for r in rows]


@router.get("/nps", response=SummaryOut, summary="NPS over the last months and by segment")
@requires(ApiScope.FEEDBACK_READ)
def nps_summary(
    request: HttpRequest,
    months: int = Query(12, ge=1, le=36, description="how many calendar months, 36 at most"),
) -> dict[str, Any]:
    since = queries.since_months(months)
    return {
        "overall": queries.overall(since).as_dict(),
        "months": [
            {"month": m.month.strftime("%Y-%m"), **m.nps.as_dict()}
            for m in queries.by_month(months)
        ],
        "segments": {
            "tier": _segment(queries.by_segment("tier", since)),
            "came_from": _segment(queries.by_segment("came_from", since)),
        },
    }


def response_body(s: Survey) -> dict[str, Any]:
    return {
        "id": s.pk,
        "customer_id": s.customer_id,
        "sent_at": s.sent_at,
        "answered_at": s.answered_at,
        "score": s.score,
        "category": s.category,
        "comment": s.comment,
        "language": s.language,
        "tier_code": s.tier_code,
        "came_from": s.came_from,
        "follow_up": {
            "status": s.follow_up,
            "note": s.follow_up_note,
            "by": s.follow_up_by.display_name if s.follow_up_by else None,
            "at": s.follow_up_at,
        },
    }


@router.get("/responses", response=ResponsePage, summary="Answers, newest first")
@requires(ApiScope.FEEDBACK_READ)
def list_responses(
    request: HttpRequest,
    category: str | None = Query(None, description="promoter, passive or detractor"),
    follow_up: str | None = Query(None, description="to_contact, contacted or resolved"),
    cursor: str | None = None,
    limit: int = LIMIT,
) -> dict[str, Any]:
    qs = queries.answered().select_related("follow_up_by")
    if category:
        if category not in Category.values:
            raise ServiceError(
                Code.INVALID,
                _("category must be promoter, passive or detractor"),
                field="category",
            )
        qs = qs.filter(
            {
                Category.PROMOTER: queries.PROMOTER,
                Category.PASSIVE: queries.PASSIVE,
                Category.DETRACTOR: queries.DETRACTOR,
            }[Category(category)]
        )
    if follow_up:
        qs = qs.filter(follow_up=services.parse_follow_up(follow_up))
    rows, next_cursor = paginate(qs, cursor=cursor, limit=limit, order=("-answered_at", "-id"))
    return {"items": [response_body(s) for s in rows], "next_cursor": next_cursor}


@router.patch(
    "/responses/{int:response_id}/follow-up",
    response=ResponseOut,
    summary="Change a detractor's follow-up status and note",
)
@requires(ApiScope.FEEDBACK_MANAGE)
def update_follow_up(request: HttpRequest, response_id: int, payload: FollowUpIn) -> dict[str, Any]:
    survey = queries.answered().filter(pk=response_id).first()
    if survey is None:
        raise NotFound("not_found", _("no answer with this id"), field="response_id")
    updated = services.update_follow_up(
        survey,
        status=payload.status,
        note=payload.note,
        actor=api_actor(request),
    )
    return response_body(updated)
