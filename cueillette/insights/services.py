"""Every write of the insights app: one transaction, its audit row, nothing half-written.

* :func:`refresh` computes an organization's figures (``engine.compute``) and replaces its
  ``CustomerScore`` rows in one transaction; a failed fit records a ``failed`` run and keeps
  the previous figures untouched.
* Reasons for leaving: the organization's list (:func:`save_reason`), the timeline of
  changes (:func:`save_change`), reasons attached to customers (:func:`attach_reason`,
  :func:`link_change`; append-only, the latest counts), notes (:func:`add_note`).
* The exit survey: :func:`send_exit_survey` is the one place that emails it, after checking
  the customer's FEEDBACK consent (to move behind the messaging send gate when it exists);
  :func:`answer_exit_survey` records the answer once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from cueillette.core import audit, permissions
from cueillette.core.audit import Actor
from cueillette.core.errors import Conflict, Forbidden, ServiceError
from cueillette.core.mail import send_templated
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import current_org
from cueillette.core.tokens import hash_token, new_token, sign, unsign
from cueillette.customers.models import ConsentEvent, Customer, Purpose
from cueillette.insights import engine, fitting, queries
from cueillette.insights.errors import Code
from cueillette.insights.models import (
    AttachmentSource,
    BusinessChange,
    ContactNote,
    CustomerScore,
    ExitSurvey,
    InsightsSettings,
    LeaveReason,
    ModelRun,
    ReasonAttachment,
    RunStatus,
)

CENT = Decimal("0.01")
EXIT_SURVEY_SALT = "insights.exit_survey"
EXIT_SURVEY_DAYS = 30
#: A customer is asked at most once in this many days.
EXIT_SURVEY_INTERVAL = dt.timedelta(days=180)

# The list every organization starts with (it can rename, add, hide; codes stay).
DEFAULT_REASONS: tuple[tuple[str, str, str], ...] = (
    ("moved", "A déménagé", "Moved away"),
    ("prices", "Les prix", "Prices"),
    ("competitor", "Un concurrent", "A competitor"),
    ("access", "L'accès (transport, parking)", "Getting here (transport, parking)"),
    ("hours", "Les horaires", "Opening hours"),
    ("service", "L'accueil ou le service", "Welcome or service"),
    ("products", "Les produits", "Products"),
    ("health", "Santé ou âge", "Health or age"),
    ("other", "Autre", "Other"),
)


# --------------------------------------------------------------------------- permissions


# --------------------------------------------------------------------------- settings


def get_settings() -> InsightsSettings:
    row = InsightsSettings.objects.first()
    return row if row is not None else InsightsSettings.objects.create()


def _decimal(value: Any, field: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        number = Decimal(str(value).replace(",", ".").strip())
    except (InvalidOperation, ValueError) as exc:
        raise ServiceError(Code.INVALID, _("enter a number"), field=field) from exc
    if not number.is_finite() or not (low <= number <= high):
        raise ServiceError(
            Code.INVALID,
            _("enter a number from %(low)s to %(high)s") % {"low": low, "high": high},
            field=field,
        )
    return number.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _int(value: Any, field: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ServiceError(Code.INVALID, _("enter a whole number"), field=field) from exc
    if not (low <= number <= high):
        raise ServiceError(
            Code.INVALID,
            _("enter a whole number from %(low)d to %(high)d") % {"low": low, "high": high},
            field=field,
        )
    return number


@dataclass(frozen=True)
class SettingsInput:
    """How a lapse is defined and the holdout check, as typed (each one is checked here)."""

    lapse_factor: Decimal | str | None = None
    holdout_weeks: int | str | None = None
    change_window_weeks: int | str | None = None


@transaction.atomic
def update_settings(data: SettingsInput, *, actor: Actor) -> InsightsSettings:
    """Change how a lapse is defined and the holdout check; takes effect at the next refresh."""
    permissions.require(actor, Perm.MANAGE_INSIGHTS)
    factor = _decimal(data.lapse_factor, "lapse_factor", Decimal(1), Decimal(20))
    holdout = _int(data.holdout_weeks, "holdout_weeks", 2, 52)
    window = _int(data.change_window_weeks, "change_window_weeks", 1, 26)
    row = InsightsSettings.objects.select_for_update().filter(pk=get_settings().pk).get()
    before = {"lapse_factor": str(row.lapse_factor), "holdout_weeks": row.holdout_weeks}
    row.lapse_factor = factor
    row.holdout_weeks = holdout
    row.change_window_weeks = window
    row.save()
    audit.record(
        actor,
        "insights.settings_updated",
        row,
        before=before,
        lapse_factor=str(factor),
        holdout_weeks=holdout,
        change_window_weeks=window,
    )
    return row


# --------------------------------------------------------------------------- refresh


@dataclass(frozen=True)
class RefreshResult:
    run: ModelRun
    scores_written: int


def _money(value: float | None) -> Decimal | None:
    v = engine.clean(value)
    if v is None:
        return None
    return Decimal(repr(v)).quantize(CENT, rounding=ROUND_HALF_UP)


def _when(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(seconds), tz=dt.UTC)


def refresh(
    *,
    actor: Actor,
    now: dt.datetime | None = None,
    progress: engine.Progress | None = None,
) -> RefreshResult:
    """Recompute the current organization's figures from its purchases.

    Guarantees: the scores are replaced all at once or not at all; a run row records every
    attempt (``ok``, ``not_enough`` with RFM figures only, or ``failed`` keeping the previous
    figures and saying why); no NaN or infinity is stored.
    """
    permissions.require(actor, Perm.MANAGE_INSIGHTS)
    started = timezone.now()
    clock = time.perf_counter()
    now = now or started
    settings_row = get_settings()
    data = queries.purchase_arrays(now)
    base = {
        "started_at": started,
        "as_of": now,
        "lapse_factor": settings_row.lapse_factor,
        "triggered_by": actor.label[:200],
        "purchases": len(data.customer),
    }
    try:
        result = engine.compute(
            data.customer,
            data.at,
            data.amount,
            now.timestamp(),
            lapse_factor=float(settings_row.lapse_factor),
            holdout_weeks=settings_row.holdout_weeks,
            progress=progress,
        )
    except (fitting.FitError, FloatingPointError, ValueError, np.linalg.LinAlgError) as exc:
        with transaction.atomic():
            run = ModelRun.objects.create(
                **base,
                finished_at=timezone.now(),
                status=RunStatus.FAILED,
                message=str(exc)[:500],
                seconds=time.perf_counter() - clock,
            )
            audit.record(actor, "insights.refresh_failed", run, message=str(exc)[:200])
        return RefreshResult(run, 0)
    if progress:
        progress("write")
    summary = result.summary
    with transaction.atomic():
        run = ModelRun.objects.create(
            **base,
            finished_at=timezone.now(),
            status=RunStatus.OK if result.status == "ok" else RunStatus.NOT_ENOUGH,
            message=result.message[:500],
            customers=len(summary),
            repeaters=result.repeaters,
            bgnbd=_json(result.bgnbd.as_dict()) if result.bgnbd else {},
            gammagamma=_json(result.gammagamma.as_dict()) if result.gammagamma else {},
            holdout=_json(result.holdout),
            wrote_scores=True,
        )
        CustomerScore.objects.all().delete()
        rows = _score_rows(run, result)
        CustomerScore.objects.bulk_create(rows, batch_size=2000)
        ModelRun.objects.filter(pk=run.pk).update(seconds=time.perf_counter() - clock)
        audit.record(
            actor,
            "insights.refreshed",
            run,
            status=run.status,
            customers=len(rows),
            repeaters=result.repeaters,
        )
    run.refresh_from_db()
    return RefreshResult(run, len(rows))


def _json(value: Any) -> Any:
    """JSON for a run row: NaN and infinity become None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, float | np.floating):
        return engine.clean(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def _score_rows(run: ModelRun, result: engine.Result) -> list[CustomerScore]:
    s = result.summary
    sc = result.scores
    lapse = result.lapse
    active_ids = queries.active_customer_ids([int(c) for c in s.customer])
    rows: list[CustomerScore] = []
    org = current_org()  # bulk_create skips TenantModel.save, which would set it
    for i, cid in enumerate(s.customer.tolist()):
        if cid not in active_ids:
            continue
        alive = engine.clean(result.p_alive[i]) if result.p_alive is not None else None
        one_timer = s.n[i] <= 1
        row = CustomerScore(
            organization=org,
            run=run,
            customer_id=cid,
            purchases=int(s.n[i]),
            first_purchase_at=_when(s.first[i]),
            last_purchase_at=_when(s.last[i]),
            total_spend=_money(s.total[i]) or Decimal(0),
            average_spend=_money(s.total[i] / max(int(s.n[i]), 1)) or Decimal(0),
            recency_score=int(sc.r[i]),
            frequency_score=int(sc.f[i]),
            value_score=int(sc.m[i]),
            fm_score=int(sc.fm[i]),
            segment=sc.segment[i].value,
            usual_gap_days=float(lapse.usual_gap_days[i]),
            lapsed=bool(lapse.lapsed[i]),
            lapsed_at=_when(lapse.lapsed_at[i]) if lapse.lapsed[i] else None,
            monthly_value=_money(lapse.monthly_value[i]) or Decimal(0),
            p_alive=None if alive is None else min(max(alive, 0.0), 1.0),
        )
        if result.status == "ok":
            for months in engine.HORIZONS:
                setattr(row, f"purchases_{months}m", engine.clean(result.purchases[months][i]))
                if months in result.spend:
                    setattr(row, f"spend_{months}m", _money(result.spend[months][i]))
            if result.value_at_stake is not None and not one_timer:
                row.value_at_stake = _money(result.value_at_stake[i])
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- reasons


def reasons(*, include_hidden: bool = True) -> list[LeaveReason]:
    """The organization's reason list, created with the default list on first use."""
    if not LeaveReason.objects.exists():
        _seed_reasons()
    qs = LeaveReason.objects.all()
    if not include_hidden:
        qs = qs.filter(active=True)
    return list(qs)


@transaction.atomic
def _seed_reasons() -> None:
    if LeaveReason.objects.select_for_update().exists():
        return
    LeaveReason.objects.bulk_create(
        [
            LeaveReason(organization=current_org(), code=c, label_fr=fr, label_en=en, position=i)
            for i, (c, fr, en) in enumerate(DEFAULT_REASONS)
        ]
    )


def _label(value: Any, field: str) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise ServiceError(
            Code.REQUIRED, _("write the reason in French and in English"), field=field
        )
    if len(text) > 120:
        raise ServiceError(Code.INVALID, _("keep it under 120 characters"), field=field)
    return text


@transaction.atomic
@dataclass(frozen=True)
class ReasonInput:
    """A reason for leaving as the list shows it, in both languages."""

    label_fr: str = ""
    label_en: str = ""
    active: bool = True


def save_reason(
    data: ReasonInput, *, actor: Actor, reason: LeaveReason | None = None
) -> LeaveReason:
    """Add a reason to the list or rename / hide one; its code never changes."""
    permissions.require(actor, Perm.MANAGE_INSIGHTS)
    reasons()
    label_fr = _label(data.label_fr, "label_fr")
    label_en = _label(data.label_en, "label_en")
    active = bool(data.active)
    if reason is None:
        code = slugify(label_en)[:40] or "reason"
        taken = set(LeaveReason.objects.values_list("code", flat=True))
        base, n = code, 2
        while code in taken:
            code = f"{base[:36]}-{n}"
            n += 1
        position = LeaveReason.objects.count()
        reason = LeaveReason.objects.create(
            code=code, label_fr=label_fr, label_en=label_en, position=position, active=active
        )
        audit.record(actor, "insights.reason_added", reason, code=code)
        return reason
    reason = LeaveReason.objects.select_for_update().get(pk=reason.pk)
    reason.label_fr, reason.label_en, reason.active = label_fr, label_en, active
    reason.save()
    audit.record(actor, "insights.reason_updated", reason, code=reason.code, active=active)
    return reason


# --------------------------------------------------------------------------- changes


@dataclass(frozen=True)
class ChangeInput:
    """A change in the business (a bus line stopped, new opening hours), as typed; ``reason``
    is the reason for leaving it may explain, as a row or its id."""

    title: str = ""
    occurred_on: dt.date | str | None = None
    description: str = ""
    reason: LeaveReason | int | str | None = None


def _clean_change(data: ChangeInput) -> dict[str, Any]:
    errors: list[dict[str, Any]] = []
    title = " ".join(str(data.title or "").split())
    if not title:
        errors.append({"code": Code.REQUIRED, "field": "title", "message": _("say what changed")})
    elif len(title) > 160:
        errors.append(
            {"code": Code.INVALID, "field": "title", "message": _("keep it under 160 characters")}
        )
    day = data.occurred_on
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day)
        except ValueError:
            day = None
    if not isinstance(day, dt.date):
        errors.append(
            {"code": Code.REQUIRED, "field": "occurred_on", "message": _("give the date")}
        )
    description = str(data.description or "").strip()[:2000]
    given_reason = data.reason
    reason: LeaveReason | None = None
    if isinstance(given_reason, LeaveReason):
        reason = given_reason
    elif given_reason is not None:
        if str(given_reason).isdigit():
            reason = LeaveReason.objects.filter(pk=given_reason).first()
        if reason is None and given_reason not in ("", None):
            errors.append(
                {
                    "code": Code.INVALID,
                    "field": "reason",
                    "message": _("choose a reason in the list"),
                }
            )
    if errors:
        first = errors[0]
        raise ServiceError(first["code"], first["message"], field=first["field"], errors=errors)
    return {"title": title, "occurred_on": day, "description": description, "reason": reason}


@transaction.atomic
def save_change(
    data: ChangeInput, *, actor: Actor, change: BusinessChange | None = None
) -> BusinessChange:
    """Record something the business changed on its timeline, or correct it."""
    permissions.require(actor, Perm.MANAGE_INSIGHTS)
    values = _clean_change(data)
    if change is None:
        change = BusinessChange.objects.create(created_by=actor.user, **values)
        audit.record(actor, "insights.change_recorded", change, on=str(values["occurred_on"]))
        return change
    change = BusinessChange.objects.select_for_update().get(pk=change.pk)
    for key, value in values.items():
        setattr(change, key, value)
    change.save()
    audit.record(actor, "insights.change_updated", change, on=str(values["occurred_on"]))
    return change


# --------------------------------------------------------------------------- attachments


def _lock_customer(customer: Customer) -> Customer:
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if not locked.is_active:
        raise ServiceError(Code.CUSTOMER_INACTIVE, _("this customer record is no longer active"))
    return locked


def _clean_comment(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > 500:
        raise ServiceError(Code.INVALID, _("keep it under 500 characters"), field="comment")
    return text


@transaction.atomic
def attach_reason(
    customer: Customer,
    *,
    actor: Actor,
    reason: LeaveReason | None = None,
    change: BusinessChange | None = None,
    comment: str = "",
    now: dt.datetime | None = None,
) -> ReasonAttachment:
    """Say why a customer left (a reason from the list and/or a change of the timeline).
    Appends; the customer's latest attachment is the one reports use."""
    permissions.require(actor, Perm.MANAGE_INSIGHTS)
    if reason is None and change is None:
        raise ServiceError(Code.REQUIRED, _("choose a reason or a change"), field="reason")
    customer = _lock_customer(customer)
    row = ReasonAttachment.objects.create(
        customer=customer,
        source=AttachmentSource.CHANGE if change and not reason else AttachmentSource.STAFF,
        reason=reason or (change.reason if change else None),
        change=change,
        comment=_clean_comment(comment),
        created_at=now or timezone.now(),
        actor_kind=actor.kind,
        actor_user=actor.user,
    )
    audit.record(
        actor,
        "insights.reason_attached",
        row,
        customer=customer.pk,
        reason=reason.code if reason else None,
        change=change.pk if change else None,
    )
    return row


@transaction.atomic
def clear_reason(customer: Customer, *, actor: Actor) -> ReasonAttachment:
    """The customer's reason no longer holds (they came back, it was a mistake)."""
    permissions.require(actor, Perm.MANAGE_INSIGHTS)
    customer = _lock_customer(customer)
    row = ReasonAttachment.objects.create(
        customer=customer,
        source=AttachmentSource.CLEARED,
        created_at=timezone.now(),
        actor_kind=actor.kind,
        actor_user=actor.user,
    )
    audit.record(actor, "insights.reason_cleared", row, customer=customer.pk)
    return row


@transaction.atomic
def link_change(
    change: BusinessChange,
    customer_ids: Iterable[int],
    *,
    actor: Actor,
    now: dt.datetime | None = None,
) -> int:
    """Attach a change to the customers who stopped around it (ids from its candidate list
    only); one audit row for the batch. Returns how many were linked."""
    permissions.require(actor, Perm.MANAGE_INSIGHTS)
    wanted = {int(i) for i in customer_ids}
    allowed = {c.customer_id for c in queries.stopped_around(change)}
    ids = sorted(wanted & allowed)
    if not ids:
        raise ServiceError(Code.REQUIRED, _("choose at least one customer"), field="customers")
    # Lock in primary-key order, as every writer of customers does.
    list(Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    when = now or timezone.now()
    ReasonAttachment.objects.bulk_create(
        [
            ReasonAttachment(
                organization=current_org(),
                customer_id=cid,
                source=AttachmentSource.CHANGE,
                reason=change.reason,
                change=change,
                created_at=when,
                actor_kind=actor.kind,
                actor_user=actor.user,
            )
            for cid in ids
        ]
    )
    audit.record(actor, "insights.change_linked", change, customers=len(ids))
    return len(ids)


@transaction.atomic
def add_note(customer: Customer, text: Any, *, actor: Actor) -> ContactNote:
    """A note about reaching out to a customer (a call, a word at the counter)."""
    permissions.require(actor, Perm.MANAGE_INSIGHTS)
    body = str(text or "").strip()
    if not body:
        raise ServiceError(Code.REQUIRED, _("write the note"), field="text")
    if len(body) > 1000:
        raise ServiceError(Code.INVALID, _("keep it under 1,000 characters"), field="text")
    customer = _lock_customer(customer)
    note = ContactNote.objects.create(
        customer=customer, text=body, author=actor.user, created_at=timezone.now()
    )
    # The audit row names the note, not its text: an erasure leaves no copy in the log.
    audit.record(actor, "insights.note_added", note, customer=customer.pk)
    return note


# --------------------------------------------------------------------------- exit survey


def current_feedback_consent(customer: Customer) -> ConsentEvent | None:
    """The customer's latest FEEDBACK entry if it is a grant."""
    latest = (
        ConsentEvent.objects.filter(customer=customer, purpose=Purpose.FEEDBACK)
        .order_by("-occurred_at", "-id")
        .first()
    )
    return latest if latest is not None and latest.granted else None


def exit_survey_url(token: str, *, language: str | None = None) -> str:
    org = current_org()
    url = settings.SITE_URL + reverse(
        "public:exit_survey", kwargs={"slug": org.slug, "token": token}
    )
    return f"{url}?lang={language}" if language else url


@transaction.atomic
def send_exit_survey(
    customer: Customer, *, actor: Actor, now: dt.datetime | None = None
) -> ExitSurvey:
    """Email the one-question exit survey — only under a current FEEDBACK consent, to an
    active customer with an email, at most once in 180 days. The one function that sends it
    (to move behind the messaging send gate when that exists)."""
    permissions.require(actor, Perm.MANAGE_INSIGHTS)
    now = now or timezone.now()
    customer = _lock_customer(customer)
    if not customer.email:
        raise ServiceError(Code.NO_EMAIL, _("this customer has no email address"), field="email")
    consent = current_feedback_consent(customer)
    if consent is None:
        # A refusal of the customer's choice, not of the staff member's rights: 409, not 403.
        raise Conflict(
            Code.NO_CONSENT,
            _("this customer has not agreed to be asked for their opinion"),
            field="consent",
        )
    if ExitSurvey.objects.filter(
        customer=customer, sent_at__gt=now - EXIT_SURVEY_INTERVAL
    ).exists():
        raise Conflict(
            Code.RECENTLY_ASKED,
            _("this customer was already asked in the last six months"),
            field="customer",
        )
    org = current_org()
    language = customer.language if customer.language in ("fr", "en") else org.language
    raw = new_token()
    survey = ExitSurvey.objects.create(
        customer=customer,
        consent=consent,
        token_hash=hash_token(raw),
        language=language,
        sent_at=now,
        expires_at=now + dt.timedelta(days=EXIT_SURVEY_DAYS),
        sent_by=actor.user,
    )
    from cueillette.feedback.services import unsubscribe_url  # the FEEDBACK withdrawal link

    unsubscribe = unsubscribe_url(org, customer)
    send_templated(
        "insights/email/exit_survey",
        customer.email,
        {
            "organization": org,
            "customer": customer,
            "url": exit_survey_url(sign(raw, EXIT_SURVEY_SALT), language=language),
            "unsubscribe_url": unsubscribe,
            "expires_at": survey.expires_at,
        },
        language=language,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    audit.record(
        actor, "insights.exit_survey_sent", survey, customer=customer.pk, consent_event=consent.pk
    )
    return survey


def exit_survey_for_token(token: str, *, now: dt.datetime | None = None) -> ExitSurvey:
    """The survey behind a link, or a ServiceError saying why it cannot be answered."""
    invalid = ServiceError(Code.TOKEN_INVALID, _("this link is not valid"), status=404)
    if not token or len(token) > 300:
        raise invalid
    try:
        raw = unsign(token, EXIT_SURVEY_SALT, EXIT_SURVEY_DAYS * 86400 + 86400)
    except signing.SignatureExpired as exc:
        raise ServiceError(Code.TOKEN_EXPIRED, _("this link has expired"), status=410) from exc
    except signing.BadSignature as exc:
        raise invalid from exc
    survey = (
        ExitSurvey.objects.select_related("customer").filter(token_hash=hash_token(raw)).first()
    )
    if survey is None:
        raise invalid
    if survey.expires_at <= (now or timezone.now()):
        raise ServiceError(Code.TOKEN_EXPIRED, _("this link has expired"), status=410)
    return survey


@transaction.atomic
def answer_exit_survey(
    token: str, reason_code: Any, comment: Any, *, now: dt.datetime | None = None
) -> ReasonAttachment:
    """Record the customer's answer once (a second answer is refused), while their FEEDBACK
    consent still holds."""
    now = now or timezone.now()
    survey = exit_survey_for_token(token, now=now)
    survey = ExitSurvey.objects.select_for_update().get(pk=survey.pk)
    if survey.answered_at is not None:
        raise Conflict(Code.ALREADY_ANSWERED, _("you have already answered, thank you"))
    customer = survey.customer
    if current_feedback_consent(customer) is None:
        raise Forbidden(Code.NO_CONSENT, _("you asked us not to send you questions any more"))
    reason = (
        LeaveReason.objects.filter(code=str(reason_code or "")[:40], active=True).first()
        if reason_code
        else None
    )
    if reason is None:
        raise ServiceError(Code.REQUIRED, _("choose one answer"), field="reason")
    text = str(comment or "").strip()
    if len(text) > 500:
        raise ServiceError(Code.INVALID, _("keep it under 500 characters"), field="comment")
    updated = ExitSurvey.objects.filter(pk=survey.pk, answered_at__isnull=True).update(
        answered_at=now
    )
    if not updated:
        raise Conflict(Code.ALREADY_ANSWERED, _("you have already answered, thank you"))
    row = ReasonAttachment.objects.create(
        customer=customer,
        source=AttachmentSource.SURVEY,
        reason=reason,
        comment=text,
        created_at=now,
        actor_kind="customer",
        survey=survey,
    )
    audit.record(
        Actor.customer(),
        "insights.exit_survey_answered",
        row,
        customer=customer.pk,
        reason=reason.code,
    )
    return row
