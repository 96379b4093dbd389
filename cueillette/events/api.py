"""The events API: sessions, registrations and check-in, under ``/api/v1/events``.

A thin translation to :mod:`cueillette.events.services` and :mod:`.queries`: rows are those of
the key's organization only, errors are ``{"error": {"code", "field", "message"}}``, and every
POST takes an ``Idempotency-Key`` like the rest of the API (a retried registration or check-in
applies once).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.params.functions import Query

from cueillette.api import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, api_actor, paginate, requires
from cueillette.core.errors import NotFound, ServiceError
from cueillette.core.permissions import ApiScope, scopes_perms
from cueillette.core.tenancy import current_org
from cueillette.customers.models import Customer
from cueillette.events import services
from cueillette.events.errors import Code
from cueillette.events.models import Mode, Registration, RegStatus, Session, SessionStatus

router = Router(tags=["events"])

LIMIT = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="page size, 200 at most")


class SessionIn(Schema):
    title: str = Field(min_length=1, max_length=120)
    starts_at: dt.datetime = Field(
        description="ISO 8601; without an offset, local time of the business's time zone"
    )
    capacity: int = Field(ge=1, le=10_000)
    description: str = Field("", max_length=4000)
    mode: str = Field("in_person", description="in_person or online")
    location: str = Field("", max_length=300, description="the address (in person)")
    video_url: str = Field(
        "", max_length=500, description="https link (online); shown to registered people only"
    )
    duration_minutes: int = Field(60, ge=5, le=1440)
    waitlist_enabled: bool = True
    price: Decimal | None = Field(None, description="paid on site; null: free")
    points_for_attending: int = Field(0, ge=0, le=100_000)
    question: str = Field("", max_length=200)
    feedback_enabled: bool = True


class SessionPatch(Schema):
    """Only the fields sent change (the others keep their value)."""

    title: str | None = Field(None, min_length=1, max_length=120)
    starts_at: dt.datetime | None = None
    capacity: int | None = Field(None, ge=1, le=10_000)
    description: str | None = Field(None, max_length=4000)
    mode: str | None = None
    location: str | None = Field(None, max_length=300)
    video_url: str | None = Field(None, max_length=500)
    duration_minutes: int | None = Field(None, ge=5, le=1440)
    waitlist_enabled: bool | None = None
    price: Decimal | None = None
    points_for_attending: int | None = Field(None, ge=0, le=100_000)
    question: str | None = Field(None, max_length=200)
    feedback_enabled: bool | None = None


class SessionOut(Schema):
    id: int
    title: str
    description: str
    mode: str
    location: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    duration_minutes: int
    capacity: int
    seats_taken: int
    waiting: int
    waitlist_enabled: bool
    price: Decimal | None
    currency: str
    points_for_attending: int
    question: str
    status: str = Field(description="scheduled or cancelled")
    series_id: int | None


class SessionPage(Schema):
    items: list[SessionOut]
    next_cursor: str | None


class RegisterIn(Schema):
    customer_id: int = Field(description="the customer to register (their record must be active)")
    answer: str = Field("", max_length=500, description="answer to the session's question")


class RegistrationOut(Schema):
    id: int
    session_id: int
    customer_id: int | None
    name: str
    status: str = Field(
        description="pending, confirmed, waitlisted, offered, attended, cancelled, "
        "offer_expired or refused_full"
    )
    waitlist_position: int | None
    offer_expires_at: dt.datetime | None
    checked_in_at: dt.datetime | None
    walk_in: bool
    answer: str
    created_at: dt.datetime


class RegistrationPage(Schema):
    items: list[RegistrationOut]
    next_cursor: str | None


class CheckInOut(Schema):
    registration: RegistrationOut
    already: bool = Field(description="true when the person had already been checked in")
    points: int = Field(description="loyalty points credited by this check-in")


def _session_out(s: Session) -> dict[str, Any]:
    return {
        "id": s.pk,
        "title": s.title,
        "description": s.description,
        "mode": s.mode,
        "location": s.location,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "duration_minutes": s.duration_minutes,
        "capacity": s.capacity,
        "seats_taken": services.seats_taken(s),
        "waiting": Registration.objects.filter(session=s, status=RegStatus.WAITLISTED).count(),
        "waitlist_enabled": s.waitlist_enabled,
        "price": s.price,
        "currency": s.currency,
        "points_for_attending": s.points_for_attending,
        "question": s.question,
        "status": s.status,
        "series_id": s.series_id,
    }


def _registration_out(
    r: Registration, position: int | None = None, *, position_known: bool = False
) -> dict[str, Any]:
    """A registration as the API shows it (``position``: when the action already told it)."""
    return {
        "id": r.pk,
        "session_id": r.session_id,
        "customer_id": r.customer_id,
        "name": r.name,
        "status": r.status,
        "waitlist_position": position if position_known else services.waitlist_position(r),
        "offer_expires_at": r.offer_expires_at if r.status == RegStatus.OFFERED else None,
        "checked_in_at": r.checked_in_at,
        "walk_in": r.walk_in,
        "answer": r.answer,
        "created_at": r.created_at,
    }


def _op(request: HttpRequest) -> services.Operator:
    """The key as the services see it: exactly the permissions its scopes grant."""
    actor = api_actor(request)
    return services.Operator(actor=actor, perms=scopes_perms(actor.scopes or ()))


def _session(session_id: int) -> Session:
    session = Session.objects.filter(pk=session_id).first()
    if session is None:
        raise NotFound("not_found", _("no session with this id"), field="session_id")
    return session


def _registration(registration_id: int) -> Registration:
    reg = Registration.objects.select_related("session").filter(pk=registration_id).first()
    if reg is None:
        raise NotFound("not_found", _("no registration with this id"), field="registration_id")
    return reg


def _input(payload: SessionIn) -> services.SessionInput:
    starts_at = payload.starts_at
    if timezone.is_naive(starts_at):
        starts_at = starts_at.replace(tzinfo=current_org().tz)
    if payload.mode not in Mode.values:
        raise ServiceError(Code.INVALID, _("mode must be in_person or online"), field="mode")
    return services.SessionInput(
        title=payload.title,
        starts_at=starts_at,
        capacity=payload.capacity,
        description=payload.description,
        mode=payload.mode,
        location=payload.location,
        video_url=payload.video_url,
        duration_minutes=payload.duration_minutes,
        waitlist_enabled=payload.waitlist_enabled,
        price=services.parse_price(payload.price),
        points_for_attending=payload.points_for_attending,
        question=payload.question,
        feedback_enabled=payload.feedback_enabled,
    )


@router.get("/sessions", response=SessionPage, summary="Sessions, soonest first")
@requires(ApiScope.EVENTS_READ)
def list_sessions(
    request: HttpRequest,
    upcoming: bool = Query(True, description="only sessions that have not started"),
    cursor: str | None = None,
    limit: int = LIMIT,
) -> dict[str, Any]:
    qs = Session.objects.all()
    if upcoming:
        qs = qs.filter(starts_at__gt=timezone.now(), status=SessionStatus.SCHEDULED)
    rows, next_cursor = paginate(qs, cursor=cursor, limit=limit, order=("starts_at", "id"))
    return {"items": [_session_out(s) for s in rows], "next_cursor": next_cursor}


@router.post("/sessions", response={201: SessionOut}, summary="Offer a session")
@requires(ApiScope.EVENTS_MANAGE)
def create_session(request: HttpRequest, payload: SessionIn) -> tuple[int, dict[str, Any]]:
    session = services.create_session(_op(request), _input(payload))
    return 201, _session_out(session)


@router.get("/sessions/{int:session_id}", response=SessionOut, summary="One session")
@requires(ApiScope.EVENTS_READ)
def get_session(request: HttpRequest, session_id: int) -> dict[str, Any]:
    return _session_out(_session(session_id))


@router.patch(
    "/sessions/{int:session_id}",
    response=SessionOut,
    summary="Change a session (a lower capacity moves the latest to the waiting list)",
)
@requires(ApiScope.EVENTS_MANAGE)
def update_session(request: HttpRequest, session_id: int, payload: SessionPatch) -> dict[str, Any]:
    session = _session(session_id)
    current: dict[str, Any] = {
        "title": session.title,
        "starts_at": session.starts_at,
        "capacity": session.capacity,
        "description": session.description,
        "mode": session.mode,
        "location": session.location,
        "video_url": session.video_url,
        "duration_minutes": session.duration_minutes,
        "waitlist_enabled": session.waitlist_enabled,
        "price": session.price,
        "points_for_attending": session.points_for_attending,
        "question": session.question,
        "feedback_enabled": session.feedback_enabled,
    }
    current.update(payload.dict(exclude_unset=True))
    result = services.update_session(_op(request), session, _input(SessionIn(**current)))
    return _session_out(result.session)


@router.get(
    "/sessions/{int:session_id}/registrations",
    response=RegistrationPage,
    summary="The people of a session",
)
@requires(ApiScope.EVENTS_READ)
def list_registrations(
    request: HttpRequest,
    session_id: int,
    status: str | None = Query(None, description="one status only"),
    cursor: str | None = None,
    limit: int = LIMIT,
) -> dict[str, Any]:
    session = _session(session_id)
    qs = Registration.objects.filter(session=session)
    if status:
        if status not in RegStatus.values:
            raise ServiceError(Code.INVALID, _("unknown status"), field="status")
        qs = qs.filter(status=status)
    rows, next_cursor = paginate(qs, cursor=cursor, limit=limit, order=("created_at", "id"))
    return {"items": [_registration_out(r) for r in rows], "next_cursor": next_cursor}


@router.post(
    "/sessions/{int:session_id}/registrations",
    response={201: RegistrationOut},
    summary="Register a customer (a seat, or the waiting list when full)",
)
@requires(ApiScope.EVENTS_WRITE)
def register(
    request: HttpRequest, session_id: int, payload: RegisterIn
) -> tuple[int, dict[str, Any]]:
    customer = Customer.objects.filter(pk=payload.customer_id).first()
    if customer is None:
        raise NotFound("not_found", _("no customer with this id"), field="customer_id")
    op = _op(request)
    result = services.register_customer(
        session_id, customer, actor=op.actor, answer=payload.answer, source="api", who=op
    )
    return 201, _registration_out(result.registration, result.position, position_known=True)


@router.post(
    "/registrations/{int:registration_id}/cancel",
    response=RegistrationOut,
    summary="Cancel a registration (a freed seat is offered to the next person waiting)",
)
@requires(ApiScope.EVENTS_WRITE)
def cancel(request: HttpRequest, registration_id: int) -> dict[str, Any]:
    op = _op(request)
    reg = services.cancel_registration(_registration(registration_id), actor=op.actor, who=op)
    return _registration_out(reg)


@router.post(
    "/registrations/{int:registration_id}/check-in",
    response=CheckInOut,
    summary="Check someone in at the door (points for attending, once)",
)
@requires(ApiScope.EVENTS_WRITE)
def check_in(request: HttpRequest, registration_id: int) -> dict[str, Any]:
    result = services.check_in(_op(request), _registration(registration_id))
    return {
        "registration": _registration_out(result.registration),
        "already": result.already,
        "points": result.points,
    }
