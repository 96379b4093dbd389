"""The messaging API under /api/v1/messaging: campaigns (list, create, audience, send) and the
suppression list. Thin: it parses, reaches rows with ``access()`` and calls one service or one
read; sending goes through the same gate as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from cueillette.api import api_key, requires
from cueillette.core.audit import Actor
from cueillette.core.permissions import ApiScope
from cueillette.core.tenancy import access
from cueillette.messaging import audience, queries, services
from cueillette.messaging.models import Campaign, Suppression

router = Router(tags=["messaging"])


class CampaignIn(Schema):
    name: str
    subject_fr: str = ""
    body_fr: str = Field("", description="Markdown; no script, no image")
    subject_en: str = ""
    body_en: str = ""
    segment_id: int | None = None
    holdout_percent: int = 0
    results_days: int = 14


class CampaignOut(Schema):
    id: int
    name: str
    status: str
    segment_id: int | None
    scheduled_at: dt.datetime | None
    started_at: dt.datetime | None
    decisions: int


class AudienceOut(Schema):
    total: int
    sending: int
    after_quiet_hours: int
    excluded: dict[str, int] = Field(description="reason code -> customers")


class SendIn(Schema):
    scheduled_at: dt.datetime | None = Field(None, description="aware time; omitted: now")


class SuppressionIn(Schema):
    address: str
    reason: str = Field("cleaned_import", description="hard_bounce, complaint, cleaned_import")
    detail: str = ""


class SuppressionOut(Schema):
    id: int
    channel: str
    address: str
    reason: str
    created_at: dt.datetime


def _who(request: HttpRequest) -> services.Staff:
    key = api_key(request)
    return services.Staff(actor=Actor.api(key.name, key.scopes), role="api")


def _out(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.name,
        "status": c.status,
        "segment_id": c.segment_id,
        "scheduled_at": c.scheduled_at,
        "started_at": c.started_at,
        "decisions": c.deliveries.count(),
    }


@router.get("/campaigns", response=list[CampaignOut], summary="Campaigns, newest first")
@requires(ApiScope.MESSAGING_READ)
def list_campaigns(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(c) for c in queries.campaigns()[:200]]


@router.post("/campaigns", response={201: CampaignOut}, summary="Create a draft")
@requires(ApiScope.MESSAGING_SEND)
def create_campaign(request: HttpRequest, body: CampaignIn) -> tuple[int, dict[str, Any]]:
    c = services.save_campaign(_who(request), services.CampaignInput(**body.dict()))
    return 201, _out(c)


@router.get("/campaigns/{campaign_id}/audience", response=AudienceOut, summary="Who it reaches")
@requires(ApiScope.MESSAGING_READ)
def campaign_audience(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    c = access(Campaign, campaign_id)
    return audience.decide_audience(c).as_dict() if c.segment else audience.Audience().as_dict()


@router.post("/campaigns/{campaign_id}/send", response=CampaignOut, summary="Send or schedule")
@requires(ApiScope.MESSAGING_SEND)
def send(request: HttpRequest, campaign_id: int, body: SendIn) -> dict[str, Any]:
    c = access(Campaign, campaign_id)
    return _out(services.send_campaign(_who(request), c, when=body.scheduled_at))


@router.get("/suppressions", response=list[SuppressionOut], summary="Removed addresses")
@requires(ApiScope.MESSAGING_READ)
def list_suppressions(request: HttpRequest) -> list[Suppression]:
    return list(Suppression.objects.all()[:1000])


@router.post("/suppressions", response={201: SuppressionOut}, summary="Remove an address")
@requires(ApiScope.MESSAGING_SEND)
def add_suppression(request: HttpRequest, body: SuppressionIn) -> tuple[int, Suppression]:
    key = api_key(request)
    row = services.suppress(
        body.address, body.reason, detail=body.detail, actor=Actor.api(key.name)
    )
    return 201, row
