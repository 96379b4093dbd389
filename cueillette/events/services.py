"""Every write of the events app: offer sessions, register, the waiting list, the door.

Each action checks who acts, takes the session's row lock (:func:`_lock_session`) before it
counts or moves seats, writes its rows and its audit row in one transaction and fires its
consequence (``events.registration_made``, ``events.registration_cancelled``,
``events.attendance_recorded``). Emails leave after commit (:mod:`cueillette.events.notify`).

Capacity is never exceeded: seats are counted and given under the session's lock
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transactions queue writers). The
waiting list is first come, first offered (``queued_at``, then id), and a freed seat is offered
to one person at a time for a limited time (:func:`rules.offer_expiry`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.core import signing
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cueillette.accounts.models import Membership
from cueillette.core import audit, permissions
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence, fire
from cueillette.core.errors import Conflict, NotFound, ServiceError
from cueillette.core.permissions import ROLE_PERMS, Perm, scopes_perms
from cueillette.core.tenancy import current_org
from cueillette.core.tokens import hash_token, new_token
from cueillette.customers import services as customer_services
from cueillette.customers.models import (
    ConsentWording,
    Customer,
    CustomerStatus,
    Purpose,
    Source,
)
from cueillette.customers.normalize import normalize_email
from cueillette.events import notify, rules
from cueillette.events.errors import Code
from cueillette.events.models import (
    ACTIVE_STATUSES,
    MAX_ANSWER,
    MAX_CAPACITY,
    MAX_DESCRIPTION,
    MAX_DURATION,
    MAX_QUESTION,
    MAX_TITLE,
    SEAT_STATUSES,
    Mode,
    Registration,
    RegStatus,
    Series,
    Session,
    SessionStatus,
)

CONFIRM_MAX_AGE = dt.timedelta(hours=48)
MAX_WEEKS = 52
MAX_POINTS = 100_000
PUBLIC_LABEL = "sessions page"
MANAGE_SALT = "cueillette.events.manage"
CHECKIN_SALT = "cueillette.events.checkin"
FEEDBACK_SALT = "cueillette.events.feedback"


# --------------------------------------------------------------------------- who acts


@dataclass(frozen=True)
class Operator:
    """Who acts for the business: a staff member (their role's permissions) or an API key."""

    actor: Actor
    perms: frozenset[Perm]
    user_id: int | None = None

    @classmethod
    def of(cls, membership: Membership) -> Operator:
        return cls(
            actor=Actor.of_membership(membership),
            perms=ROLE_PERMS.get(membership.role, frozenset()),
            user_id=membership.user_id,
        )

    @classmethod
    def api(cls, key_name: str, scopes: Iterable[str]) -> Operator:
        return cls(actor=Actor.api(key_name, scopes), perms=scopes_perms(scopes))

    @classmethod
    def system(cls) -> Operator:
        return cls(actor=Actor.system("events"), perms=frozenset(Perm))


OperatorLike = Operator | Membership


def _require(who: OperatorLike, perm: Perm) -> Operator:
    op = who if isinstance(who, Operator) else Operator.of(who)
    permissions.require(op.actor, perm)
    return op


def public_actor() -> Actor:
    return Actor.customer(PUBLIC_LABEL)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class SessionInput:
    """What a session is, as the form and the API give it (``starts_at`` is aware)."""

    title: str
    starts_at: dt.datetime
    capacity: int
    description: str = ""
    mode: str = Mode.IN_PERSON
    location: str = ""
    video_url: str = ""
    duration_minutes: int = 60
    waitlist_enabled: bool = True
    price: Decimal | None = None
    points_for_attending: int = 0
    question: str = ""
    feedback_enabled: bool = True


@dataclass(frozen=True)
class SeriesInput:
    """A weekly series: the session's details, its local time, first date, weeks, exceptions."""

    session: SessionInput  # its starts_at is ignored: local_time on each date decides
    first_date: dt.date
    local_time: dt.time
    weeks: int
    exceptions: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class RegistrationRequest:
    """A visitor's registration form: name, email, the answer, the consents they ticked."""

    first_name: str
    email: str
    last_name: str = ""
    answer: str = ""
    # purpose -> the wording shown on the form (ticked boxes only).
    consents: Mapping[str, ConsentWording] = field(default_factory=dict)
    language: str = "fr"


@dataclass(frozen=True)
class WalkInInput:
    """Someone at the door: an existing customer, or a name (and a way to reach them)."""

    customer_id: int | None = None
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class RegistrationResult:
    registration: Registration
    placed: str  # "seat", "waitlist", "pending" (email to confirm) or "already"
    position: int | None = None  # on the waiting list, 1-based


def parse_price(value: Any) -> Decimal | None:
    """ "" / None -> free; "12,50" / "12.50" -> Decimal("12.50"); else a field error."""
    if value in (None, ""):
        return None
    if isinstance(value, Decimal):
        amount = value
    else:
        text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        for sign in ("€", "EUR", "$"):
            text = text.replace(sign, "")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise ServiceError(
                Code.INVALID, _("the price is not an amount (for example 12,50)"), field="price"
            ) from exc
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("100000"):
        raise ServiceError(
            Code.OUT_OF_RANGE,
            _("the price must be above 0 and below 100,000 (leave it empty for free)"),
            field="price",
        )
    return amount.quantize(Decimal("0.01"))


def _errors_of(inp: SessionInput, *, now: dt.datetime, check_past: bool) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []

    def fail(code: str, name: str, message: str) -> None:
        errors.append({"code": code, "field": name, "message": message})

    if not inp.title.strip():
        fail(Code.REQUIRED, "title", _("the title is empty"))
    elif len(inp.title.strip()) > MAX_TITLE:
        fail(Code.TOO_LONG, "title", _("the title is %(max)d characters at most") % {"max": 120})
    if len(inp.description) > MAX_DESCRIPTION:
        fail(
            Code.TOO_LONG,
            "description",
            _("the description is %(max)d characters at most") % {"max": MAX_DESCRIPTION},
        )
    if inp.mode not in Mode.values:
        fail(Code.INVALID, "mode", _("choose in person or online"))
    if inp.mode == Mode.ONLINE:
        parts = urlsplit(inp.video_url.strip())
        if not inp.video_url.strip():
            fail(Code.REQUIRED, "video_url", _("an online session needs its video link"))
        elif parts.scheme != "https" or not parts.netloc:
            fail(Code.INVALID, "video_url", _("the video link must start with https://"))
    elif inp.mode == Mode.IN_PERSON and not inp.location.strip():
        fail(Code.REQUIRED, "location", _("an in-person session needs its address"))
    if len(inp.location) > 300:
        fail(Code.TOO_LONG, "location", _("the address is 300 characters at most"))
    if check_past and inp.starts_at <= now:
        fail(Code.IN_THE_PAST, "starts_at", _("the start is in the past"))
    if not 5 <= inp.duration_minutes <= MAX_DURATION:
        fail(
            Code.OUT_OF_RANGE,
            "duration_minutes",
            _("the duration is between 5 minutes and 24 hours"),
        )
    if not 1 <= inp.capacity <= MAX_CAPACITY:
        fail(
            Code.OUT_OF_RANGE,
            "capacity",
            _("the capacity is between 1 and %(max)d people") % {"max": MAX_CAPACITY},
        )
    if not 0 <= inp.points_for_attending <= MAX_POINTS:
        fail(
            Code.OUT_OF_RANGE,
            "points_for_attending",
            _("points for attending are between 0 and %(max)d") % {"max": MAX_POINTS},
        )
    if len(inp.question) > MAX_QUESTION:
        fail(
            Code.TOO_LONG,
            "question",
            _("the question is %(max)d characters at most") % {"max": MAX_QUESTION},
        )
    if inp.price is not None and not (Decimal(0) < inp.price < Decimal(100000)):
        fail(Code.OUT_OF_RANGE, "price", _("the price must be above 0 (leave it empty for free)"))
    return errors


def _raise(errors: list[dict[str, Any]]) -> None:
    if errors:
        first = errors[0]
        raise ServiceError(first["code"], first["message"], field=first["field"], errors=errors)


def _session_fields(inp: SessionInput) -> dict[str, Any]:
    return {
        "title": inp.title.strip(),
        "description": inp.description.strip(),
        "mode": inp.mode,
        "location": inp.location.strip() if inp.mode == Mode.IN_PERSON else "",
        "video_url": inp.video_url.strip() if inp.mode == Mode.ONLINE else "",
        "duration_minutes": inp.duration_minutes,
        "capacity": inp.capacity,
        "waitlist_enabled": inp.waitlist_enabled,
        "price": inp.price,
        "points_for_attending": inp.points_for_attending,
        "question": inp.question.strip(),
        "feedback_enabled": inp.feedback_enabled,
    }


# --------------------------------------------------------------------------- locks and tokens


def _lock_session(session_id: int) -> Session:
    """Lock the session row: every count or move of its seats happens under this lock."""
    session = Session.objects.select_for_update().filter(pk=session_id).first()
    if session is None:
        raise NotFound("not_found", _("no session with this id"), field="session_id")
    return session


def _lock_registration(registration_id: int) -> Registration:
    return Registration.objects.select_for_update().get(pk=registration_id)


def manage_token(reg: Registration) -> str:
    """The stable link of one registration (its page: details, cancel, accept, calendar)."""
    return signing.Signer(salt=MANAGE_SALT).sign(f"{reg.organization_id}.{reg.pk}")


def checkin_code(reg: Registration) -> str:
    """What the registration's QR code holds, for the scanner at the door."""
    return signing.Signer(salt=CHECKIN_SALT).sign(f"{reg.organization_id}.{reg.pk}")


def feedback_token(reg: Registration) -> str:
    return signing.Signer(salt=FEEDBACK_SALT).sign(f"{reg.organization_id}.{reg.pk}")


def _from_signed(value: Any, salt: str) -> Registration:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise NotFound(Code.TOKEN_INVALID, _("this link is not valid"))
    try:
        raw = signing.Signer(salt=salt).unsign(value.strip())
        org_id, reg_id = (int(p) for p in raw.split("."))
    except (signing.BadSignature, ValueError) as exc:
        raise NotFound(Code.TOKEN_INVALID, _("this link is not valid")) from exc
    if org_id != current_org().pk:
        raise NotFound(Code.TOKEN_INVALID, _("this link is not valid"))
    reg = Registration.objects.select_related("session", "customer").filter(pk=reg_id).first()
    if reg is None:
        raise NotFound(Code.TOKEN_INVALID, _("this link is not valid"))
    return reg


def registration_for_manage(token: Any) -> Registration:
    return _from_signed(token, MANAGE_SALT)


def registration_for_checkin(code: Any) -> Registration:
    """The registration behind a scanned code (this organization's only)."""
    value = code if isinstance(code, str) else ""
    # A phone camera may hand the scanner the whole manage URL: take the code after "c=".
    if "c=" in value:
        value = value.split("c=", 1)[1].split("&", 1)[0]
    return _from_signed(value, CHECKIN_SALT)


def registration_for_feedback(token: Any) -> Registration:
    return _from_signed(token, FEEDBACK_SALT)


# --------------------------------------------------------------------------- seats


def seats_taken(session: Session) -> int:
    return Registration.objects.filter(session=session, status__in=SEAT_STATUSES).count()


def waiting(session: Session) -> list[Registration]:
    """The waiting list in its order: first come, first offered."""
    return list(
        Registration.objects.filter(session=session, status=RegStatus.WAITLISTED).order_by(
            "queued_at", "id"
        )
    )


def waitlist_position(reg: Registration) -> int | None:
    if reg.status != RegStatus.WAITLISTED or reg.queued_at is None:
        return None
    ahead = Registration.objects.filter(
        Q(queued_at__lt=reg.queued_at) | Q(queued_at=reg.queued_at, pk__lt=reg.pk),
        session_id=reg.session_id,
        status=RegStatus.WAITLISTED,
    ).count()
    return ahead + 1


def _set(reg: Registration, **values: Any) -> None:
    Registration.objects.filter(pk=reg.pk).update(**values)
    for name, value in values.items():
        setattr(reg, name, value)


def _place(session: Session, reg: Registration, now: dt.datetime) -> RegistrationResult:
    """Give ``reg`` a seat or a place on the list (the caller holds the session's lock)."""
    where = rules.place(session.capacity, seats_taken(session), session.waitlist_enabled)
    if where == rules.Placement.SEAT:
        _set(reg, status=RegStatus.CONFIRMED, confirmed_at=now, queued_at=None, note="")
        return _placed(reg, RegistrationResult(reg, "seat"))
    if where == rules.Placement.WAITLIST:
        _set(reg, status=RegStatus.WAITLISTED, queued_at=now, note="")
        return _placed(reg, RegistrationResult(reg, "waitlist", waitlist_position(reg)))
    _set(reg, status=RegStatus.REFUSED_FULL, note="full")
    raise ServiceError(
        Code.FULL, _("this session is full and has no waiting list"), field="session"
    )


def _placed(reg: Registration, result: RegistrationResult) -> RegistrationResult:
    """The consequences of a placement: the person is told, the registry hears it."""
    if result.placed == "seat":
        notify.registration_confirmed(reg)
    else:
        notify.waitlisted(reg, result.position)
    fire(
        Consequence.REGISTRATION_MADE,
        organization_id=reg.organization_id,
        registration=reg,
        placed=result.placed,
    )
    return result


def _offer_next(session: Session, now: dt.datetime) -> list[Registration]:
    """Offer each free seat to the next person waiting, one person per seat (lock held)."""
    if session.is_cancelled or session.starts_at - now < dt.timedelta(
        minutes=rules.OFFER_MIN_MINUTES
    ):
        return []
    free = session.capacity - seats_taken(session)
    offered: list[Registration] = []
    for reg in waiting(session)[: max(0, free)]:
        _set(
            reg,
            status=RegStatus.OFFERED,
            offered_at=now,
            offer_expires_at=rules.offer_expiry(now, session.starts_at),
            note="",
        )
        audit.record(
            Actor.system("events"),
            "events.seat_offered",
            reg,
            session=session.pk,
            expires_at=reg.offer_expires_at.isoformat() if reg.offer_expires_at else None,
        )
        notify.seat_offered(reg)
        offered.append(reg)
    return offered


def _check_open(session: Session, now: dt.datetime) -> None:
    if session.is_cancelled:
        raise ServiceError(
            Code.SESSION_CANCELLED, _("this session has been cancelled"), field="session"
        )
    if now >= session.starts_at:
        raise ServiceError(
            Code.ALREADY_STARTED,
            _("registrations are closed: the session has started"),
            field="session",
        )


def _active_for(session: Session, customer: Customer) -> Registration | None:
    return (
        Registration.objects.filter(
            session=session,
            customer=customer,
            status__in=[*SEAT_STATUSES, RegStatus.WAITLISTED],
        )
        .order_by("id")
        .first()
    )


# --------------------------------------------------------------------------- offering sessions


@transaction.atomic
def create_session(
    who: OperatorLike, inp: SessionInput, *, now: dt.datetime | None = None
) -> Session:
    """A new one-off session (owner/manager). Bad input writes nothing."""
    op = _require(who, Perm.MANAGE_EVENTS)
    now = now or timezone.now()
    _raise(_errors_of(inp, now=now, check_past=True))
    session = Session.objects.create(
        starts_at=inp.starts_at, currency=current_org().currency, **_session_fields(inp)
    )
    audit.record(op.actor, "events.session_created", session, starts_at=inp.starts_at.isoformat())
    return session


@dataclass(frozen=True)
class SeriesResult:
    series: Series
    sessions: list[Session]


@transaction.atomic
def create_series(
    who: OperatorLike, inp: SeriesInput, *, now: dt.datetime | None = None
) -> SeriesResult:
    """A weekly series: one session per week at the same local time, exceptions skipped."""
    op = _require(who, Perm.MANAGE_EVENTS)
    now = now or timezone.now()
    tz = current_org().tz
    errors = _errors_of(inp.session, now=now, check_past=False)
    if not 1 <= inp.weeks <= MAX_WEEKS:
        errors.append(
            {
                "code": Code.OUT_OF_RANGE,
                "field": "weeks",
                "message": _("a series lasts between 1 and %(max)d weeks") % {"max": MAX_WEEKS},
            }
        )
    starts = rules.series_starts(inp.first_date, inp.weeks, inp.local_time, tz, inp.exceptions)
    if not errors and not starts:
        errors.append(
            {
                "code": Code.INVALID,
                "field": "exceptions",
                "message": _("every date of the series is an exception: nothing to offer"),
            }
        )
    if not errors and starts[0] <= now:
        errors.append(
            {
                "code": Code.IN_THE_PAST,
                "field": "first_date",
                "message": _("the first session would be in the past"),
            }
        )
    _raise(errors)
    series = Series.objects.create(
        title=inp.session.title.strip(),
        local_time=inp.local_time,
        first_date=inp.first_date,
        weeks=inp.weeks,
        exceptions=sorted(d.isoformat() for d in inp.exceptions),
    )
    fields = _session_fields(inp.session)
    sessions = [
        Session(series=series, starts_at=at, currency=current_org().currency, **fields)
        for at in starts
    ]
    for s in sessions:
        s.organization = current_org()
    Session.objects.bulk_create(sessions)
    sessions = list(Session.objects.filter(series=series).order_by("starts_at"))
    audit.record(
        op.actor,
        "events.series_created",
        series,
        sessions=len(sessions),
        weeks=inp.weeks,
        exceptions=len(inp.exceptions),
    )
    return SeriesResult(series, sessions)


@dataclass(frozen=True)
class UpdateResult:
    session: Session
    moved_to_waitlist: list[Registration]
    offered: list[Registration]


@transaction.atomic
def update_session(
    who: OperatorLike, session: Session, inp: SessionInput, *, now: dt.datetime | None = None
) -> UpdateResult:
    """Change a session. A capacity below the seats taken moves the latest registrations back
    to the head of the waiting list (they are told why); nobody already checked in moves."""
    op = _require(who, Perm.MANAGE_EVENTS)
    now = now or timezone.now()
    session = _lock_session(session.pk)
    if session.is_cancelled:
        raise ServiceError(
            Code.SESSION_CANCELLED, _("this session has been cancelled"), field="session"
        )
    moved_start = inp.starts_at != session.starts_at
    errors = _errors_of(inp, now=now, check_past=moved_start)
    holders = list(Registration.objects.filter(session=session, status__in=SEAT_STATUSES))
    attended = sum(1 for h in holders if h.status == RegStatus.ATTENDED)
    if inp.capacity < rules.min_capacity(attended):
        errors.append(
            {
                "code": Code.OUT_OF_RANGE,
                "field": "capacity",
                "message": _(
                    "%(n)d people have already been checked in: the capacity cannot be lower"
                )
                % {"n": attended},
            }
        )
    _raise(errors)
    before = {"capacity": session.capacity, "starts_at": session.starts_at.isoformat()}
    for name, value in _session_fields(inp).items():
        setattr(session, name, value)
    session.starts_at = inp.starts_at
    session.save()
    cut = rules.capacity_cut(
        [
            rules.Holder(
                h.pk,
                str(h.status),
                h.confirmed_at or h.offered_at or h.created_at,
            )
            for h in holders
        ],
        inp.capacity,
    )
    moved: list[Registration] = []
    by_id = {h.pk: h for h in holders}
    for reg_id in cut:
        reg = by_id[reg_id]
        # An offer withdrawn keeps its place in the list; a seat taken back goes to the head
        # (they had it before anyone now waiting).
        if reg.status == RegStatus.OFFERED:
            since = reg.queued_at or reg.offered_at or reg.created_at
        else:
            since = reg.confirmed_at or reg.created_at
        _set(
            reg,
            status=RegStatus.WAITLISTED,
            queued_at=since,
            offered_at=None,
            offer_expires_at=None,
            note="capacity_reduced",
        )
        notify.moved_to_waitlist(reg)
        moved.append(reg)
    if not session.waitlist_enabled and moved:
        # No list to wait on: they keep their place in the order all the same, so that a
        # freed seat goes back to them first.
        pass
    offered = _offer_next(session, now)
    if moved_start:
        for reg in Registration.objects.filter(session=session, status__in=SEAT_STATUSES):
            notify.session_moved(reg)
    audit.record(
        op.actor,
        "events.session_updated",
        session,
        before=before,
        after={"capacity": session.capacity, "starts_at": session.starts_at.isoformat()},
        moved_to_waitlist=[r.pk for r in moved],
    )
    return UpdateResult(session, moved, offered)


@transaction.atomic
def cancel_session(
    who: OperatorLike, session: Session, *, now: dt.datetime | None = None
) -> Session:
    """Cancel a session: every registration is cancelled and its person told."""
    op = _require(who, Perm.MANAGE_EVENTS)
    now = now or timezone.now()
    session = _lock_session(session.pk)
    if session.is_cancelled:
        return session
    Session.objects.filter(pk=session.pk).update(status=SessionStatus.CANCELLED)
    session.status = SessionStatus.CANCELLED
    regs = list(
        Registration.objects.filter(
            session=session, status__in=[*SEAT_STATUSES, RegStatus.WAITLISTED, RegStatus.PENDING]
        ).exclude(status=RegStatus.ATTENDED)
    )
    for reg in regs:
        was_pending = reg.status == RegStatus.PENDING
        _set(reg, status=RegStatus.CANCELLED, cancelled_at=now, note="session_cancelled")
        if not was_pending:
            notify.session_cancelled(reg)
    audit.record(op.actor, "events.session_cancelled", session, registrations=len(regs))
    return session


# --------------------------------------------------------------------------- registering


def _clean_request(req: RegistrationRequest) -> dict[str, Any]:
    errors: list[dict[str, Any]] = []
    out: dict[str, Any] = {}
    first = req.first_name.strip()
    if not first:
        errors.append(
            {
                "code": Code.REQUIRED,
                "field": "first_name",
                "message": _("your first name is needed"),
            }
        )
    elif len(first) > 100:
        errors.append(
            {
                "code": Code.TOO_LONG,
                "field": "first_name",
                "message": _("the first name is 100 characters at most"),
            }
        )
    last = req.last_name.strip()
    if len(last) > 100:
        errors.append(
            {
                "code": Code.TOO_LONG,
                "field": "last_name",
                "message": _("the last name is 100 characters at most"),
            }
        )
    try:
        email = normalize_email(req.email)
        if not email:
            errors.append(
                {
                    "code": Code.REQUIRED,
                    "field": "email",
                    "message": _("your email is needed to confirm the registration"),
                }
            )
        out["email"] = email
    except ServiceError as exc:
        errors.append({"code": exc.code, "field": "email", "message": exc.message})
    if len(req.answer.strip()) > MAX_ANSWER:
        errors.append(
            {
                "code": Code.TOO_LONG,
                "field": "answer",
                "message": _("the answer is %(max)d characters at most") % {"max": MAX_ANSWER},
            }
        )
    for purpose in req.consents:
        if purpose not in Purpose.values:
            errors.append(
                {"code": Code.INVALID, "field": "consents", "message": _("unknown consent")}
            )
    _raise(errors)
    out.update(first_name=first, last_name=last, answer=req.answer.strip())
    return out


@transaction.atomic
def request_registration(
    session: Session, req: RegistrationRequest, *, now: dt.datetime | None = None
) -> RegistrationResult:
    """A visitor registers: held until they confirm their email (nothing else is written).

    The answer is the same whether or not the address is already registered (anyone can type
    an address): a person already registered is emailed their registration's link instead.
    """
    now = now or timezone.now()
    session = Session.objects.get(pk=session.pk)
    _check_open(session, now)
    cleaned = _clean_request(req)
    if rules.place(session.capacity, seats_taken(session), session.waitlist_enabled) == (
        rules.Placement.FULL
    ):
        raise ServiceError(
            Code.FULL, _("this session is full and has no waiting list"), field="session"
        )
    language = req.language if req.language in ("fr", "en") else current_org().language
    existing_customer = (
        Customer.objects.filter(email=cleaned["email"], status=CustomerStatus.ACTIVE)
        .order_by("id")
        .first()
    )
    if existing_customer is not None:
        already = _active_for(session, existing_customer)
        if already is not None:
            notify.already_registered(already)
            return RegistrationResult(already, "pending")
    raw = new_token()
    reg = Registration.objects.create(
        session=session,
        name=f"{cleaned['first_name']} {cleaned['last_name']}".strip(),
        first_name=cleaned["first_name"],
        last_name=cleaned["last_name"],
        email=cleaned["email"],
        language=language,
        answer=cleaned["answer"] if session.question else "",
        consents=[{"purpose": p, "wording": w.pk} for p, w in req.consents.items()],
        status=RegStatus.PENDING,
        source="public",
        created_at=now,
        confirm_token_hash=hash_token(raw),
        confirm_expires_at=now + CONFIRM_MAX_AGE,
    )
    notify.confirm_link(reg, raw)
    audit.record(public_actor(), "events.registration_requested", reg, session=session.pk)
    return RegistrationResult(reg, "pending")


def pending_for_token(raw: Any, *, now: dt.datetime | None = None) -> Registration:
    """The registration behind an email confirmation link, or why it cannot be used."""
    if not isinstance(raw, str) or not raw or len(raw) > 200:
        raise NotFound(Code.TOKEN_INVALID, _("this link is not valid"))
    reg = (
        Registration.objects.select_related("session")
        .filter(confirm_token_hash=hash_token(raw))
        .first()
    )
    if reg is None:
        raise NotFound(Code.TOKEN_INVALID, _("this link is not valid"))
    if reg.status != RegStatus.PENDING:
        raise ServiceError(Code.TOKEN_USED, _("this link has already been used"), status=410)
    if reg.confirm_expires_at is not None and reg.confirm_expires_at < (now or timezone.now()):
        raise ServiceError(
            Code.TOKEN_EXPIRED,
            _("this link has expired: please register again"),
            status=410,
        )
    return reg


@transaction.atomic
def confirm_registration(raw: Any, *, now: dt.datetime | None = None) -> RegistrationResult:
    """The confirmation button's POST: link or create the customer, record the consents they
    ticked (and only those), then give a seat or a place on the waiting list — once."""
    now = now or timezone.now()
    reg = pending_for_token(raw, now=now)
    session = _lock_session(reg.session_id)
    # Single use even under two concurrent clicks: only one UPDATE leaves PENDING.
    # (The session's lock serialises two clicks; the second finds the status moved on.)
    if not Registration.objects.filter(pk=reg.pk, status=RegStatus.PENDING).update(
        note="confirming"
    ):
        raise ServiceError(Code.TOKEN_USED, _("this link has already been used"), status=410)
    if session.is_cancelled or now >= session.starts_at:
        _set(reg, status=RegStatus.CANCELLED, cancelled_at=now, note="closed_before_confirmation")
        _check_open(session, now)
    actor = public_actor()
    customer = (
        Customer.objects.filter(email=reg.email, status=CustomerStatus.ACTIVE)
        .order_by("id")
        .first()
    )
    created = customer is None
    if customer is None:
        customer = customer_services.create_customer(
            customer_services.CustomerInput(
                first_name=reg.first_name,
                last_name=reg.last_name,
                email=reg.email,
                language=reg.language,
            ),
            actor=actor,
            source=Source.EVENT,
        )
    wordings = {
        w.pk: w
        for w in ConsentWording.objects.filter(pk__in=[c.get("wording") for c in reg.consents])
    }
    for choice in reg.consents:
        wording = wordings.get(choice.get("wording"))
        if wording is None or wording.purpose != choice.get("purpose"):
            continue
        customer_services.record_consent(
            customer,
            wording.purpose,
            True,
            source=Source.EVENT,
            actor=actor,
            language=reg.language,
            wording=wording,
            # The address was just confirmed by this very click.
            evidence={
                "form": "session registration",
                "session": session.pk,
                "double_opt_in_confirmed_at": now.isoformat(),
            },
        )
    _set(reg, customer=customer)
    customer_services.touch_activity(customer, now)
    already = _active_for(session, customer)
    if already is not None and already.pk != reg.pk:
        _set(reg, status=RegStatus.CANCELLED, cancelled_at=now, note="duplicate")
        return RegistrationResult(already, "already", waitlist_position(already))
    audit.record(
        actor, "events.registration_confirmed", reg, session=session.pk, new_customer=created
    )
    return _place(session, reg, now)


@dataclass(frozen=True)
class _Tally:
    seats: int  # seats held (confirmed, offered, attended)
    ahead: int  # people waiting who were queued at or before ``now``
    mine: int  # the customer's own active registrations (0 or 1)


# Three index probes in one round trip (the index ``reg_session_queue`` answers the first two
# from the index alone, the partial unique index ``reg_one_active_per_customer`` the third);
# every table read names its organization. A constant text: every value is a parameter.
_TALLY_SQL = """
SELECT
  (SELECT COUNT(*) FROM events_registration
    WHERE organization_id = %s AND session_id = %s AND status IN (%s, %s, %s)),
  (SELECT COUNT(*) FROM events_registration
    WHERE organization_id = %s AND session_id = %s AND status = %s AND queued_at <= %s),
  (SELECT COUNT(*) FROM events_registration
    WHERE organization_id = %s AND session_id = %s AND customer_id = %s
      AND status IN (%s, %s, %s, %s))
"""


def _tally(session: Session, customer_id: int, now: dt.datetime) -> _Tally:
    """One read of the session's registrations under its lock: what a placement needs."""
    org, sid = session.organization_id, session.pk
    params = [
        *(org, sid, *SEAT_STATUSES),
        *(org, sid, RegStatus.WAITLISTED, connection.ops.adapt_datetimefield_value(now)),
        *(org, sid, customer_id, *ACTIVE_STATUSES),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_TALLY_SQL, [str(p) if isinstance(p, RegStatus) else p for p in params])
        seats, ahead, mine = cursor.fetchone()
    return _Tally(int(seats), int(ahead), int(mine))


@transaction.atomic
def register_customer(
    session: Session | int,
    customer: Customer,
    *,
    actor: Actor,
    answer: str = "",
    source: str = "space",
    who: OperatorLike | None = None,
    now: dt.datetime | None = None,
) -> RegistrationResult:
    """A known customer registers (their space, a staff member or an API key for them).

    The hot path of the 8 pm rush: what can be checked without the session's lock is checked
    first; under the lock, one read counts the seats, the list and the customer's own
    registration, and the registration is written once, in its final state (the lock is held
    from that read to the commit, so it is kept as short as possible).
    """
    if who is not None:
        actor = _require(who, Perm.RUN_EVENTS).actor
    if not customer.is_active:
        raise ServiceError(
            Code.CUSTOMER_INACTIVE, _("this customer record is no longer active"), field="customer"
        )
    answer = answer.strip()
    if len(answer) > MAX_ANSWER:
        raise ServiceError(
            Code.TOO_LONG,
            _("the answer is %(max)d characters at most") % {"max": MAX_ANSWER},
            field="answer",
        )
    # A session or its id (the API's rush path reads it once, locked; unknown: a 404).
    session = _lock_session(session if isinstance(session, int) else session.pk)
    # The time is read once the lock is held: seats and the list are given in lock order.
    now = now or timezone.now()
    _check_open(session, now)
    tally = _tally(session, customer.pk, now)
    if tally.mine:
        raise Conflict(
            Code.ALREADY_REGISTERED,
            _("already registered for this session"),
            field="customer",
        )
    where = rules.place(session.capacity, tally.seats, session.waitlist_enabled)
    if where == rules.Placement.FULL:
        raise ServiceError(
            Code.FULL, _("this session is full and has no waiting list"), field="session"
        )
    seat = where == rules.Placement.SEAT
    reg = Registration.objects.create(
        session=session,
        customer=customer,
        name=customer.full_name,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        language=customer.language,
        answer=answer if session.question else "",
        status=RegStatus.CONFIRMED if seat else RegStatus.WAITLISTED,
        confirmed_at=now if seat else None,
        queued_at=None if seat else now,
        source=source,
        created_at=now,
    )
    reg.session = session
    audit.record(actor, "events.registration_made", reg, session=session.pk, source=source)
    if seat:
        return _placed(reg, RegistrationResult(reg, "seat"))
    return _placed(reg, RegistrationResult(reg, "waitlist", tally.ahead + 1))


def _cancellable(reg: Registration, now: dt.datetime) -> None:
    if reg.status not in (
        RegStatus.PENDING,
        RegStatus.CONFIRMED,
        RegStatus.WAITLISTED,
        RegStatus.OFFERED,
    ):
        raise ServiceError(
            Code.BAD_TRANSITION,
            _("this registration cannot be cancelled any more"),
            field="registration",
        )
    if now >= reg.session.starts_at:
        raise ServiceError(Code.ALREADY_STARTED, _("the session has started"), field="registration")


@transaction.atomic
def cancel_registration(
    reg: Registration,
    *,
    actor: Actor,
    who: OperatorLike | None = None,
    now: dt.datetime | None = None,
) -> Registration:
    """Cancel (the person's one click, or staff for them). A freed seat goes to the next person
    on the waiting list, as an offer. Cancelling twice is a no-op."""
    if who is not None:
        actor = _require(who, Perm.RUN_EVENTS).actor
    now = now or timezone.now()
    session = _lock_session(reg.session_id)
    reg = _lock_registration(reg.pk)
    reg.session = session
    if reg.status == RegStatus.CANCELLED:
        return reg
    _cancellable(reg, now)
    held = reg.holds_seat
    _set(reg, status=RegStatus.CANCELLED, cancelled_at=now, note="cancelled")
    audit.record(actor, "events.registration_cancelled", reg, session=session.pk, held_seat=held)
    if held:
        _offer_next(session, now)
    fire(Consequence.REGISTRATION_CANCELLED, organization_id=reg.organization_id, registration=reg)
    return reg


def accept_offer(reg: Registration, *, now: dt.datetime | None = None) -> Registration:
    """The person offered a freed seat takes it, before the offer lapses. A late click lapses
    the offer (committed: the seat passes on) and then says so."""
    now = now or timezone.now()
    with transaction.atomic():
        session = _lock_session(reg.session_id)
        reg = _lock_registration(reg.pk)
        reg.session = session
        if reg.status == RegStatus.CONFIRMED:
            return reg
        if reg.status != RegStatus.OFFERED:
            raise ServiceError(
                Code.BAD_TRANSITION,
                _("no seat is offered to you for this session"),
                field="registration",
            )
        lapsed = reg.offer_expires_at is not None and now >= reg.offer_expires_at
        if lapsed:
            _expire(reg, session, now)
        else:
            _set(reg, status=RegStatus.CONFIRMED, confirmed_at=now, note="offer_accepted")
            audit.record(public_actor(), "events.offer_accepted", reg, session=session.pk)
            notify.registration_confirmed(reg)
    if lapsed:
        raise ServiceError(
            Code.OFFER_EXPIRED,
            _("this offer has lapsed: the seat went to the next person waiting"),
            status=410,
        )
    return reg


def _expire(reg: Registration, session: Session, now: dt.datetime) -> None:
    _set(reg, status=RegStatus.OFFER_EXPIRED, note="offer_expired")
    audit.record(Actor.system("events"), "events.offer_expired", reg, session=session.pk)
    notify.offer_lapsed(reg)
    _offer_next(session, now)


def expire_offers(now: dt.datetime | None = None) -> int:
    """Lapse the offers past their time and pass each seat on (one transaction per session)."""
    now = now or timezone.now()
    session_ids = set(
        Registration.objects.filter(
            status=RegStatus.OFFERED, offer_expires_at__lte=now
        ).values_list("session_id", flat=True)
    )
    lapsed = 0
    for session_id in sorted(session_ids):
        with transaction.atomic():
            session = _lock_session(session_id)
            for reg in Registration.objects.filter(
                session=session, status=RegStatus.OFFERED, offer_expires_at__lte=now
            ).order_by("offered_at", "id"):
                _expire(reg, session, now)
                lapsed += 1
    return lapsed


# --------------------------------------------------------------------------- at the door


def _grant_points(reg: Registration, session: Session, actor: Actor, now: dt.datetime) -> int:
    """Points for attending, once, through the loyalty ledger (open card only)."""
    from cueillette.loyalty import services as loyalty

    if not session.points_for_attending or reg.customer is None or reg.points_entry_id:
        return 0
    card = loyalty.open_card_for(reg.customer)
    if card is None:
        return 0
    entry = loyalty.credit_event(
        card,
        session.points_for_attending,
        occurred_at=now,
        actor=actor,
        reason=session.title,
        cause=f"events:{reg.pk}",
    )
    _set(reg, points_entry=entry)
    return entry.points


@dataclass(frozen=True)
class CheckInResult:
    registration: Registration
    already: bool
    points: int


@transaction.atomic
def check_in(
    who: OperatorLike, reg: Registration, *, now: dt.datetime | None = None
) -> CheckInResult:
    """Someone arrives: attendance recorded and points for attending credited, once."""
    op = _require(who, Perm.RUN_EVENTS)
    now = now or timezone.now()
    session = _lock_session(reg.session_id)
    reg = _lock_registration(reg.pk)
    reg.session = session
    if reg.status == RegStatus.ATTENDED:
        return CheckInResult(reg, True, 0)
    if session.is_cancelled:
        raise ServiceError(Code.SESSION_CANCELLED, _("this session has been cancelled"))
    if reg.status == RegStatus.WAITLISTED:
        if seats_taken(session) >= session.capacity:
            raise ServiceError(
                Code.FULL,
                _("the session is full: this person is on the waiting list"),
                field="registration",
            )
    elif reg.status not in (RegStatus.CONFIRMED, RegStatus.OFFERED):
        raise ServiceError(
            Code.BAD_TRANSITION,
            _("this registration is %(status)s: it cannot be checked in")
            % {"status": reg.get_status_display()},
            field="registration",
        )
    _set(
        reg,
        status=RegStatus.ATTENDED,
        checked_in_at=now,
        checked_in_by_id=op.user_id,
        confirmed_at=reg.confirmed_at or now,
    )
    points = _grant_points(reg, session, op.actor, now)
    if reg.customer is not None:
        customer_services.touch_activity(reg.customer, now)
    audit.record(op.actor, "events.checked_in", reg, session=session.pk, points=points)
    fire(Consequence.ATTENDANCE_RECORDED, organization_id=reg.organization_id, registration=reg)
    return CheckInResult(reg, False, points)


@transaction.atomic
def walk_in(
    who: OperatorLike, session: Session, inp: WalkInInput, *, now: dt.datetime | None = None
) -> CheckInResult:
    """Someone comes without registering: added on the spot if a seat is free, checked in."""
    op = _require(who, Perm.RUN_EVENTS)
    now = now or timezone.now()
    session = _lock_session(session.pk)
    if session.is_cancelled:
        raise ServiceError(Code.SESSION_CANCELLED, _("this session has been cancelled"))
    if seats_taken(session) >= session.capacity:
        raise ServiceError(
            Code.FULL, _("the session is full: no seat for a walk-in"), field="session"
        )
    if inp.customer_id is not None:
        customer = Customer.objects.filter(pk=inp.customer_id).first()
        if customer is None:
            raise NotFound(Code.INVALID, _("no such customer"), field="customer_id")
        if not customer.is_active:
            raise ServiceError(
                Code.CUSTOMER_INACTIVE,
                _("this customer record is no longer active"),
                field="customer_id",
            )
        if _active_for(session, customer) is not None:
            existing = _active_for(session, customer)
            assert existing is not None
            # Registered already: check them in instead of adding them twice.
            return check_in(op, existing, now=now)
    elif found := customer_services.find_duplicates(email=inp.email, phone=inp.phone):
        # Someone the business already knows (same email or phone): no second record.
        customer = found[0]
        existing = _active_for(session, customer)
        if existing is not None:
            return check_in(op, existing, now=now)
    else:
        data = {
            "first_name": inp.first_name,
            "last_name": inp.last_name,
            "email": inp.email,
            "phone": inp.phone,
        }
        customer = customer_services.create_customer(
            customer_services.CustomerInput(**{k: v for k, v in data.items() if v}),
            actor=op.actor,
            source=Source.EVENT,
        )
    reg = Registration.objects.create(
        session=session,
        customer=customer,
        name=customer.full_name,
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        language=customer.language,
        status=RegStatus.ATTENDED,
        source="walk_in",
        walk_in=True,
        created_at=now,
        confirmed_at=now,
        checked_in_at=now,
        checked_in_by_id=op.user_id,
    )
    points = _grant_points(reg, session, op.actor, now)
    customer_services.touch_activity(customer, now)
    audit.record(op.actor, "events.walk_in", reg, session=session.pk, points=points)
    fire(
        Consequence.REGISTRATION_MADE,
        organization_id=reg.organization_id,
        registration=reg,
        placed="walk_in",
    )
    fire(Consequence.ATTENDANCE_RECORDED, organization_id=reg.organization_id, registration=reg)
    return CheckInResult(reg, False, points)


# --------------------------------------------------------------------------- afterwards


def feedback_consent(customer: Customer) -> Any:
    """The customer's current FEEDBACK consent entry, or None (no request without it)."""
    state = customer_services.consent_state(customer)
    event = state.get(Purpose.FEEDBACK)
    return event if event is not None and event.granted else None


def send_reminders(now: dt.datetime | None = None) -> int:
    """The day before: one reminder per person with a seat (once)."""
    now = now or timezone.now()
    tz = current_org().tz
    horizon = now + dt.timedelta(days=2)
    sent = 0
    for session in Session.objects.filter(
        status=SessionStatus.SCHEDULED, starts_at__gt=now, starts_at__lte=horizon
    ):
        if not rules.reminder_due(now, session.starts_at, tz):
            continue
        for reg in Registration.objects.filter(
            session=session,
            status__in=[RegStatus.CONFIRMED, RegStatus.OFFERED],
            reminder_sent_at__isnull=True,
        ).select_related("customer"):
            # Conditional update: two runs at once send one reminder.
            if Registration.objects.filter(pk=reg.pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=now
            ):
                reg.session = session
                notify.reminder(reg)
                sent += 1
    return sent


def send_feedback_requests(now: dt.datetime | None = None) -> int:
    """After a session: one question to each attendee who agreed to feedback requests."""
    now = now or timezone.now()
    sent = 0
    earliest = now - dt.timedelta(days=7)
    for session in Session.objects.filter(
        status=SessionStatus.SCHEDULED, feedback_enabled=True, starts_at__gte=earliest
    ):
        if session.ends_at + rules.FEEDBACK_DELAY > now:
            continue
        for reg in Registration.objects.filter(
            session=session,
            status=RegStatus.ATTENDED,
            feedback_sent_at__isnull=True,
            customer__isnull=False,
        ).select_related("customer"):
            assert reg.customer is not None
            consent = feedback_consent(reg.customer)
            if consent is None or not reg.customer.email:
                continue
            if Registration.objects.filter(pk=reg.pk, feedback_sent_at__isnull=True).update(
                feedback_sent_at=now
            ):
                reg.session = session
                notify.feedback_request(reg, consent)
                sent += 1
    return sent


@transaction.atomic
def record_feedback(
    token: Any, score: Any, comment: Any = "", *, now: dt.datetime | None = None
) -> Registration:
    """The feedback page's POST: a score from 1 to 5 and an optional comment, once."""
    now = now or timezone.now()
    reg = registration_for_feedback(token)
    if reg.feedback_sent_at is None or now > reg.feedback_sent_at + rules.FEEDBACK_VALIDITY:
        raise ServiceError(Code.TOKEN_EXPIRED, _("this link has expired"), status=410)
    try:
        value = int(str(score))
    except ValueError as exc:
        raise ServiceError(
            Code.OUT_OF_RANGE, _("choose a score from 1 to 5"), field="score"
        ) from exc
    if not 1 <= value <= 5:
        raise ServiceError(Code.OUT_OF_RANGE, _("choose a score from 1 to 5"), field="score")
    text = str(comment or "").strip()
    if len(text) > 2000:
        raise ServiceError(
            Code.TOO_LONG, _("the comment is 2,000 characters at most"), field="comment"
        )
    if not Registration.objects.filter(pk=reg.pk, feedback_at__isnull=True).update(
        feedback_score=value, feedback_comment=text, feedback_at=now
    ):
        raise Conflict(Code.TOKEN_USED, _("you have already answered, thank you"))
    reg.refresh_from_db()
    audit.record(public_actor(), "events.feedback_recorded", reg, rating=value)
    return reg


def ids(regs: Iterable[Registration]) -> list[int]:
    return [r.pk for r in regs]
