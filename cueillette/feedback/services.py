"""Every write of the NPS surveys: settings, sending, answering, unsubscribing, follow-up.

Sending (:func:`send_due`), the rule:

* a purchase or a visit (a loyalty ``Purchase``, a visit being a purchase of 0) becomes due
  ``delay_hours`` after it happened; purchases older than :data:`LOOKBACK` past that point are
  never surveyed (a late first run does not email about last month's bread);
* it is sampled with the organization's rate, deterministically: a hash of the organization
  and the purchase decides, so a rerun takes the same decision and never resamples;
* its customer must be active, have an email address and their FEEDBACK consent currently
  granted (the survey points at that ledger entry), and must not have been sent a survey in
  the last ``min_days_between`` days (records merged into them included);
* each survey is created in its own transaction after locking the customer's row, so two runs
  at once (two workers, a retry) cannot both send to one customer: the second one waits, then
  sees the first one's survey. A purchase has at most one survey (unique constraint).

The link in the email carries a random token (only its SHA-256 is stored) signed with
:data:`SURVEY_SALT`; each of the eleven scores of the email is that link with ``?score=``,
which only preselects the answer: opening a link never records anything (mail scanners follow
links), the POST of the page does, once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.apps import apps as django_apps
from django.conf import settings
from django.core import signing
from django.core.exceptions import FieldError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cueillette.core import audit, consequences, permissions
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence
from cueillette.core.errors import Conflict, ServiceError
from cueillette.core.inputs import UNSET, Unset, given
from cueillette.core.mail import send_templated
from cueillette.core.models import Organization
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import current_org
from cueillette.core.tokens import hash_token, new_token, sign, unsign
from cueillette.customers import services as customer_services
from cueillette.customers.models import (
    ConsentEvent,
    Customer,
    CustomerStatus,
    Purpose,
    Source,
)
from cueillette.feedback.errors import Code
from cueillette.feedback.models import (
    CameFrom,
    Category,
    FollowUp,
    FollowUpNote,
    Survey,
    SurveySettings,
    category_of,
)
from cueillette.loyalty import services as loyalty_services
from cueillette.loyalty.models import Purchase

SURVEY_SALT = "cueillette.feedback.survey"
UNSUBSCRIBE_SALT = "cueillette.feedback.unsubscribe"
# The signature outlives any link validity; the row's expires_at decides.
SURVEY_SIGNATURE_MAX_AGE = 400 * 24 * 3600
# Unsubscribe links keep working for years: an old email must still stop the next ones.
UNSUBSCRIBE_MAX_AGE = 5 * 365 * 24 * 3600
LOOKBACK = dt.timedelta(days=7)
COMMENT_MAX = 2000
NOTE_MAX = 2000
QUESTION_MAX = 300
LIMITS: dict[str, tuple[int, int]] = {
    "delay_hours": (0, 24 * 60),
    "sampling_rate": (0, 100),
    "min_days_between": (1, 730),
    "link_validity_days": (1, 90),
}
ACTOR_LABEL = "feedback"
SURVEY_ACTOR_LABEL = "survey link"

# Follow-up: which status may follow which.
TRANSITIONS: dict[str, frozenset[str]] = {
    FollowUp.TO_CONTACT: frozenset({FollowUp.CONTACTED, FollowUp.RESOLVED}),
    FollowUp.CONTACTED: frozenset({FollowUp.RESOLVED, FollowUp.TO_CONTACT}),
    FollowUp.RESOLVED: frozenset({FollowUp.TO_CONTACT, FollowUp.CONTACTED}),
}


# --------------------------------------------------------------------------- settings


def get_settings() -> SurveySettings:
    """The current organization's survey settings (created with the defaults on first use)."""
    found = SurveySettings.objects.first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return SurveySettings.objects.create()
    except IntegrityError:  # created by a parallel request
        return SurveySettings.objects.get()


# What each setting is called in error messages (the page's words, not the column's), and
# the unit its limits are quoted in.
FIELD_LABELS: dict[str, Any] = {
    "delay_hours": gettext_lazy("Wait after the purchase or visit"),
    "sampling_rate": gettext_lazy("Share of purchases and visits followed by a survey"),
    "min_days_between": gettext_lazy("Days between two surveys to one customer"),
    "link_validity_days": gettext_lazy("How long the survey link works"),
    "question_fr": gettext_lazy("The question in French"),
    "question_en": gettext_lazy("The question in English"),
}
FIELD_UNITS: dict[str, str] = {
    "delay_hours": "hours",
    "sampling_rate": "percent",
    "min_days_between": "days",
    "link_validity_days": "days",
}
# The delay as the page asks it: a number of hours or of days.
DELAY_UNITS: dict[str, int] = {"hours": 1, "days": 24}


def range_message(name: str, low: int, high: int, unit: str) -> str:
    """The error for a number out of its limits, e.g. "Wait after the purchase or visit:
    between 0 and 60 days"."""
    values = {"field": FIELD_LABELS.get(name, name), "low": low, "high": high}
    if unit == "hours":
        return _("%(field)s: between %(low)d and %(high)d hours") % values
    if unit == "days":
        return _("%(field)s: between %(low)d and %(high)d days") % values
    return _("%(field)s: between %(low)d and %(high)d %%") % values


def _int_field(
    raw: Any,
    name: str,
    errors: list[dict[str, Any]],
    *,
    unit: str | None = None,
    per: int = 1,
    field: str | None = None,
) -> int | None:
    """The whole number ``raw`` (in ``unit``, ``per`` of the stored unit each) within the
    limits of ``name``, converted to the stored unit; or None and an error naming the field
    in words and quoting the limits in ``unit``."""
    low, high = LIMITS[name]
    unit = unit or FIELD_UNITS[name]
    field = field or name
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        message = _("%(field)s: enter a whole number") % {"field": FIELD_LABELS.get(name, name)}
        errors.append({"code": Code.INVALID, "field": field, "message": message})
        return None
    low_in_unit, high_in_unit = -(-low // per), high // per
    if not low_in_unit <= value <= high_in_unit:
        errors.append(
            {
                "code": Code.INVALID,
                "field": field,
                "message": range_message(name, low_in_unit, high_in_unit, unit),
            }
        )
        return None
    return value * per


def _delay_field(data: Mapping[str, Any], errors: list[dict[str, Any]]) -> int | None:
    """The page's delay (``delay`` in ``delay_unit``, hours or days) in hours."""
    unit = str(data.get("delay_unit") or "hours")
    if unit not in DELAY_UNITS:
        errors.append(
            {
                "code": Code.INVALID,
                "field": "delay_unit",
                "message": _("Unit: choose hours or days"),
            }
        )
        return None
    return _int_field(
        data.get("delay"), "delay_hours", errors, unit=unit, per=DELAY_UNITS[unit], field="delay"
    )


@dataclass(frozen=True)
class SettingsChange:
    """A change to the survey settings, as the page or a caller gives it: a field left
    :data:`UNSET` stays as it is. Numbers come as typed (the page's text, or an int); the
    action checks each one and reports every bad field at once.

    The delay comes as ``delay_hours``, or as the page asks it: ``delay`` in ``delay_unit``
    ("hours" or "days"), its limits then quoted in that unit.
    """

    enabled: bool | Unset = UNSET
    delay_hours: int | str | Unset = UNSET
    delay: str | Unset = UNSET
    delay_unit: str | Unset = UNSET
    sampling_rate: int | str | Unset = UNSET
    min_days_between: int | str | Unset = UNSET
    link_validity_days: int | str | Unset = UNSET
    question_fr: str | Unset = UNSET
    question_en: str | Unset = UNSET


@transaction.atomic
def update_settings(change: SettingsChange, *, actor: Actor) -> SurveySettings:
    """Change the settings; every bad field is reported, nothing is written then.

    Each error names its field in the page's words.
    """
    permissions.require(actor, Perm.MANAGE_FEEDBACK)
    data = given(change)
    current = get_settings()
    errors: list[dict[str, Any]] = []
    changes: dict[str, Any] = {}
    if "enabled" in data:
        changes["enabled"] = bool(data["enabled"])
    if "delay" in data:  # the page: a number of hours or days
        hours = _delay_field(data, errors)
        if hours is not None:
            changes["delay_hours"] = hours
    for name in LIMITS:
        if name in data and not (name == "delay_hours" and "delay" in data):
            value = _int_field(data.get(name), name, errors)
            if value is not None:
                changes[name] = value
    for name in ("question_fr", "question_en"):
        if name in data:
            text = str(data[name] or "").strip()
            if len(text) > QUESTION_MAX:
                errors.append(
                    {
                        "code": Code.TOO_LONG,
                        "field": name,
                        "message": _("%(field)s: %(max)d characters at most")
                        % {"field": FIELD_LABELS[name], "max": QUESTION_MAX},
                    }
                )
            else:
                changes[name] = text
    if errors:
        first = errors[0]
        raise ServiceError(first["code"], first["message"], field=first["field"], errors=errors)
    changed = sorted(k for k, v in changes.items() if getattr(current, k) != v)
    if not changed:
        return current
    for name in changed:
        setattr(current, name, changes[name])
    current.save()
    audit.record(
        actor,
        "feedback.settings_changed",
        current,
        fields=changed,
        values={k: changes[k] for k in changed if not k.startswith("question")},
    )
    return current


# --------------------------------------------------------------------------- links


def survey_token(raw: str) -> str:
    return sign(raw, SURVEY_SALT)


def survey_url(
    org: Organization, token: str, score: int | None = None, *, language: str | None = None
) -> str:
    """The survey link; ``language`` makes the page speak the email's language (the public
    pages otherwise speak the business's)."""
    url = settings.SITE_URL + reverse("public:survey", kwargs={"slug": org.slug, "token": token})
    query = {k: v for k, v in (("score", score), ("lang", language)) if v is not None}
    return f"{url}?{urlencode(query)}" if query else url


def unsubscribe_token(org: Organization, customer: Customer) -> str:
    return sign(f"{org.pk}:{customer.pk}", UNSUBSCRIBE_SALT)


def unsubscribe_url(org: Organization, customer: Customer) -> str:
    token = unsubscribe_token(org, customer)
    return settings.SITE_URL + reverse(
        "public:survey_unsubscribe", kwargs={"slug": org.slug, "token": token}
    )


def optional_url(name: str, org: Organization) -> str | None:
    """A public page of another app, if it exists yet (community page, referrals)."""
    try:
        return settings.SITE_URL + reverse(name, kwargs={"slug": org.slug})
    except NoReverseMatch:
        return None


# --------------------------------------------------------------------------- sending


def sampled(org_id: int, purchase_id: int, rate: int) -> bool:
    """Whether this purchase is in the sample: the same answer on every run."""
    if rate >= 100:
        return True
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"feedback:{org_id}:{purchase_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10_000 < rate * 100


def came_from(customer: Customer) -> str:
    """How the customer came: a referral recorded for them, else their own answer."""
    if _has_referral(customer):
        return CameFrom.REFERRAL
    value = customer.heard_from or ""
    return value if value in CameFrom.values else CameFrom.OTHER


def _has_referral(customer: Customer) -> bool:
    """A pending or confirmed referral names this customer as the friend (if the referrals
    app is installed and has that shape; without it, nobody came by referral)."""
    try:
        referral = django_apps.get_model("referrals", "Referral")
        qs = referral.objects.filter(friend_id=customer.pk, status__in=["pending", "confirmed"])
    except (LookupError, FieldError):
        return False
    return bool(qs.exists())


def current_feedback_consent(customer: Customer) -> ConsentEvent | None:
    """The customer's latest FEEDBACK entry if it is a grant (the consent we ask under)."""
    latest = (
        ConsentEvent.objects.filter(customer=customer, purpose=Purpose.FEEDBACK)
        .order_by("-occurred_at", "-id")
        .first()
    )
    return latest if latest is not None and latest.granted else None


def _window_start(settings_row: SurveySettings, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings_row.min_days_between)


def due_purchases(now: dt.datetime, settings_row: SurveySettings) -> list[Purchase]:
    """Purchases and visits due for a survey, in order, before the per-customer checks."""
    cutoff = now - dt.timedelta(hours=settings_row.delay_hours)
    org = current_org()
    undone = loyalty_services.undo_refunds().filter(purchase=OuterRef("pk"))
    surveyed = Survey.objects.filter(purchase=OuterRef("pk"))
    recent = Survey.objects.filter(
        customer=OuterRef("card__customer"), sent_at__gt=_window_start(settings_row, now)
    )
    rows = (
        Purchase.objects.filter(
            occurred_at__lte=cutoff,
            occurred_at__gt=cutoff - LOOKBACK,
            card__customer__status=CustomerStatus.ACTIVE,
        )
        .exclude(card__customer__email="")
        # Fully refunded sales and purchases undone at the counter were mistakes or are gone.
        .exclude(Q(amount__gt=0) & Q(refunded_amount__gte=F("amount")))
        .exclude(Exists(undone))
        .exclude(Exists(surveyed))
        .exclude(Exists(recent))
        .select_related("card", "card__customer")
        .order_by("occurred_at", "id")
    )
    return [p for p in rows if sampled(org.pk, p.pk, settings_row.sampling_rate)]


@dataclass(frozen=True)
class SendReport:
    sent: int
    skipped: int


def send_due(now: dt.datetime | None = None) -> SendReport:
    """Send the due surveys of the current organization (see the module's rule)."""
    now = now or timezone.now()
    settings_row = get_settings()
    if not settings_row.enabled:
        return SendReport(0, 0)
    from cueillette.messaging.gate import switch_enabled

    if not switch_enabled("nps_request"):  # the owner switched the automatic message off
        return SendReport(0, 0)
    sent = skipped = 0
    seen: set[int] = set()
    for purchase in due_purchases(now, settings_row):
        customer_id = purchase.card.customer_id
        if customer_id in seen:  # one survey per customer per run at most
            skipped += 1
            continue
        seen.add(customer_id)
        if send_survey(purchase, now=now, settings_row=settings_row) is None:
            skipped += 1
        else:
            sent += 1
    return SendReport(sent, skipped)


def _lock_customer(customer_id: int) -> Customer:
    """Lock the customer's row until the end of the transaction (SQLite: IMMEDIATE)."""
    return Customer.objects.select_for_update().get(pk=customer_id)


@transaction.atomic
def send_survey(
    purchase: Purchase, *, now: dt.datetime, settings_row: SurveySettings | None = None
) -> Survey | None:
    """Create and email the survey about ``purchase``, or None if it must not be sent."""
    settings_row = settings_row or get_settings()
    customer = _lock_customer(purchase.card.customer_id)
    if not customer.is_active or not customer.email:
        return None
    consent = current_feedback_consent(customer)
    if consent is None:
        return None
    ids = customer_services.history_ids(customer)
    if Survey.objects.filter(
        customer_id__in=ids, sent_at__gt=_window_start(settings_row, now)
    ).exists():
        return None
    if Survey.objects.filter(purchase=purchase).exists():
        return None
    org = current_org()
    language = customer.language if customer.language in ("fr", "en") else org.language
    raw = new_token()
    survey = Survey.objects.create(
        customer=customer,
        purchase=purchase,
        consent=consent,
        sent_at=now,
        token_hash=hash_token(raw),
        expires_at=now + dt.timedelta(days=settings_row.link_validity_days),
        language=language,
        tier_code=purchase.card.tier_code,
        came_from=came_from(customer),
    )
    token = survey_token(raw)
    unsubscribe = unsubscribe_url(org, customer)
    send_templated(
        "feedback/email/survey",
        customer.email,
        {
            "organization": org,
            "question": settings_row.question(language, org.name),
            "scores": [(n, survey_url(org, token, n, language=language)) for n in range(11)],
            "url": survey_url(org, token, language=language),
            "unsubscribe_url": unsubscribe,
            "expires_at": survey.expires_at,
            "visit": purchase.amount == 0,
            "occurred_at": purchase.occurred_at,
        },
        language=language,
        # The gate adds List-Unsubscribe (RFC 8058) and checks the feedback consent again.
        kind="nps_request",
        klass="service",
        customer=customer,
        purposes=("feedback",),
        dedupe_key=f"nps_request:{survey.pk}",
    )
    audit.record(
        Actor.system(ACTOR_LABEL),
        "feedback.survey_sent",
        survey,
        customer=customer.pk,
        purchase=purchase.pk,
        consent_event=consent.pk,
    )
    return survey


# --------------------------------------------------------------------------- answering


def survey_for_token(token: str, *, now: dt.datetime | None = None) -> Survey:
    """The survey behind a link, or a ServiceError saying why it cannot be answered."""
    invalid = ServiceError(Code.TOKEN_INVALID, _("this link is not valid"))
    if not token or len(token) > 300:
        raise invalid
    try:
        raw = unsign(token, SURVEY_SALT, SURVEY_SIGNATURE_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ServiceError(Code.TOKEN_EXPIRED, _("this link has expired"), status=410) from exc
    except signing.BadSignature as exc:
        raise invalid from exc
    survey = (
        Survey.objects.select_related("customer", "consent")
        .filter(token_hash=hash_token(raw))
        .first()
    )
    if survey is None or not survey.customer.is_active:
        raise invalid
    if survey.answered_at is not None:
        raise Conflict(Code.ALREADY_ANSWERED, _("you already answered this survey, thank you"))
    if survey.expires_at < (now or timezone.now()):
        raise ServiceError(Code.TOKEN_EXPIRED, _("this link has expired"), status=410)
    return survey


def parse_score(value: Any) -> int:
    text = "" if value is None else str(value).strip()
    if text == "":
        raise ServiceError(Code.REQUIRED, _("choose a score from 0 to 10"), field="score")
    try:
        score = int(text)
    except ValueError as exc:
        raise ServiceError(
            Code.SCORE_OUT_OF_RANGE, _("the score is a whole number from 0 to 10"), field="score"
        ) from exc
    if not 0 <= score <= 10:
        raise ServiceError(
            Code.SCORE_OUT_OF_RANGE, _("the score is a whole number from 0 to 10"), field="score"
        )
    return score


def clean_comment(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > COMMENT_MAX:
        raise ServiceError(
            Code.TOO_LONG,
            _("your comment is %(n)d characters long; %(max)d at most")
            % {"n": len(text), "max": COMMENT_MAX},
            field="comment",
        )
    return text


@dataclass(frozen=True)
class Answer:
    survey: Survey
    category: str
    invite_promoter: bool


@transaction.atomic
def answer(token: str, score: Any, comment: Any, *, now: dt.datetime | None = None) -> Answer:
    """Record the answer once (the page's POST). Bad input or a used link: nothing written."""
    now = now or timezone.now()
    survey = survey_for_token(token, now=now)
    value = parse_score(score)
    text = clean_comment(comment)
    customer = _lock_customer(survey.customer_id)
    if current_feedback_consent(customer) is None:
        raise ServiceError(
            Code.CONSENT_WITHDRAWN,
            _("you asked us to stop feedback requests: this survey is closed"),
            status=410,
        )
    category = category_of(value)
    assert category is not None
    follow_up = FollowUp.TO_CONTACT if category == Category.DETRACTOR else FollowUp.NONE
    # Single use even under two concurrent answers: only one UPDATE flips answered_at.
    flipped = Survey.objects.filter(pk=survey.pk, answered_at__isnull=True).update(
        answered_at=now, score=value, comment=text, follow_up=follow_up
    )
    if not flipped:
        raise Conflict(Code.ALREADY_ANSWERED, _("you already answered this survey, thank you"))
    invite = False
    if category == Category.PROMOTER:
        ids = customer_services.history_ids(customer)
        if not Survey.objects.filter(
            customer_id__in=ids, promoter_invited_at__isnull=False
        ).exists():
            Survey.objects.filter(pk=survey.pk).update(promoter_invited_at=now)
            invite = True
    survey.refresh_from_db()
    audit.record(
        Actor.customer(SURVEY_ACTOR_LABEL),
        "feedback.answered",
        survey,
        score=value,
        category=category,
        with_comment=bool(text),
        promoter_invited=invite,
    )
    consequences.fire(
        Consequence.SURVEY_ANSWERED,
        organization_id=survey.organization_id,
        survey=survey,
        actor=Actor.customer(SURVEY_ACTOR_LABEL),
    )
    return Answer(survey=survey, category=category, invite_promoter=invite)


# --------------------------------------------------------------------------- unsubscribing


def customer_for_unsubscribe(token: str) -> Customer:
    """The customer an unsubscribe link names, in the current organization."""
    invalid = ServiceError(Code.TOKEN_INVALID, _("this link is not valid"))
    try:
        value = unsign(token, UNSUBSCRIBE_SALT, UNSUBSCRIBE_MAX_AGE)
        org_id, customer_id = (int(x) for x in value.split(":", 1))
    except (signing.BadSignature, ValueError) as exc:
        raise invalid from exc
    if org_id != current_org().pk:
        raise invalid
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None or not customer.is_active:
        raise invalid
    return customer


@transaction.atomic
def unsubscribe(token: str, *, one_click: bool = False) -> Customer:
    """Withdraw the FEEDBACK consent (ledger entry through the consent services)."""
    customer = customer_for_unsubscribe(token)
    customer_services.record_consent(
        customer,
        Purpose.FEEDBACK,
        False,
        source=Source.PORTAL,
        actor=Actor.customer("unsubscribe link"),
        evidence={"via": "feedback_email_unsubscribe", "one_click": one_click},
    )
    return customer


# --------------------------------------------------------------------------- follow-up


def parse_follow_up(value: Any) -> str:
    text = str(value or "").strip()
    if text not in TRANSITIONS:
        raise ServiceError(
            Code.INVALID,
            _("status must be one of: %(choices)s") % {"choices": ", ".join(TRANSITIONS)},
            field="status",
        )
    return text


@transaction.atomic
def update_follow_up(
    survey: Survey, *, status: Any, note: Any = None, actor: Actor, now: dt.datetime | None = None
) -> Survey:
    """Move a detractor's follow-up (to contact → contacted → resolved) and/or add a note.

    A note is appended to the survey's notes (:class:`FollowUpNote`, with its author and time)
    and never replaces an earlier one; ``follow_up_note`` shows the latest. No note (None or
    blank) or the latest note again adds nothing. The audit row carries the note's text.
    """
    permissions.require(actor, Perm.MANAGE_FEEDBACK)
    new_status = parse_follow_up(status)
    text = "" if note is None else str(note).strip()
    if len(text) > NOTE_MAX:
        raise ServiceError(
            Code.TOO_LONG,
            _("the note is %(max)d characters at most") % {"max": NOTE_MAX},
            field="note",
        )
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.follow_up == FollowUp.NONE:
        raise ServiceError(
            Code.NOT_A_DETRACTOR,
            _("only detractors' answers have a follow-up"),
            field="status",
        )
    old = survey.follow_up
    if new_status != old and new_status not in TRANSITIONS[old]:
        raise ServiceError(
            Code.BAD_TRANSITION,
            _("cannot go from %(a)s to %(b)s") % {"a": old, "b": new_status},
            field="status",
        )
    new_note = bool(text) and text != survey.follow_up_note
    if new_status == old and not new_note:
        return survey
    now = now or timezone.now()
    survey.follow_up = new_status
    survey.follow_up_by = actor.user
    survey.follow_up_at = now
    fields = ["follow_up", "follow_up_by", "follow_up_at"]
    written = None
    if new_note:
        survey.follow_up_note = text
        fields.append("follow_up_note")
        written = FollowUpNote.objects.create(
            survey=survey,
            text=text,
            status=new_status,
            author=actor.user,
            author_label=actor.label[:200],
            created_at=now,
        )
    survey.save(update_fields=fields)
    extra: dict[str, Any] = {}
    if written is not None:
        # The note's id, not its text: the audit log outlives an erasure, the note does not.
        extra = {"note_id": written.pk}
    audit.record(
        actor,
        "feedback.follow_up",
        survey,
        previous=old,
        status=new_status,
        note_changed=new_note,
        **extra,
    )
    return survey
