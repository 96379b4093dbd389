"""Every write of messaging: segments, campaigns (save, test send, schedule, send, cancel),
automatic-message switches, pressure settings, the unsubscribe page's choices, suppressions.

Staff writes check the role (``SEND_CAMPAIGNS``, ``MANAGE_MESSAGES``), write their rows and one
audit row in one transaction; sending itself is queued on commit (``tasks.dispatch_campaign``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from cueillette.core import audit, permissions
from cueillette.core.audit import Actor
from cueillette.core.errors import NotFound, ServiceError
from cueillette.core.inputs import UNSET, Unset, given
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import current_org
from cueillette.core.tokens import unsign
from cueillette.customers import services as customer_services
from cueillette.customers.models import Purpose, Source
from cueillette.messaging import audience, gate, render, rules
from cueillette.messaging.automatic import KINDS, setting
from cueillette.messaging.errors import Code
from cueillette.messaging.models import (
    AutomaticMessage,
    Campaign,
    CampaignStatus,
    Channel,
    Delivery,
    MessageClass,
    Preference,
    PressureSettings,
    Segment,
    Suppression,
    SuppressionReason,
)

PAUSE_DAYS = 91  # "pause for 3 months"
SEGMENT_KEYS = (
    "tags",
    "tiers",
    "min_points",
    "max_points",
    "visited_within_days",
    "not_visited_for_days",
    "postal_prefix",
    "consent",
    "language",
    "rfm",
)


@dataclass(frozen=True)
class Staff:
    """Who acts: an actor and the role whose permissions apply ("api" for an API key)."""

    actor: Actor
    role: str

    def require(self, perm: Perm) -> None:
        """``core.permissions.require`` on the actor (its role, or its key's scopes)."""
        permissions.require(self.actor, perm)


# --------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class SegmentFilters:
    """A segment's filters as the form gives them (lists as "a, b" text or a sequence,
    numbers as typed; None or empty: no such filter). :func:`clean_filters` checks them
    into the stored shape."""

    tags: str | Sequence[str] | None = None
    tiers: str | Sequence[str] | None = None
    min_points: int | str | None = None
    max_points: int | str | None = None
    visited_within_days: int | str | None = None
    not_visited_for_days: int | str | None = None
    postal_prefix: str | None = None
    consent: str | None = None
    language: str | None = None
    rfm: str | Sequence[str] | None = None


def clean_filters(filters: SegmentFilters) -> dict[str, Any]:
    """A segment's filters, checked: numbers are numbers, purposes exist."""
    raw = {f.name: getattr(filters, f.name) for f in dataclasses.fields(filters)}
    out: dict[str, Any] = {}
    for key in ("tags", "tiers"):
        value = raw.get(key) or []
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",")]
        out[key] = [str(v).strip()[:50] for v in value if str(v).strip()][:20]
    for key in ("min_points", "max_points", "visited_within_days", "not_visited_for_days"):
        value = raw.get(key)
        if value in (None, ""):
            continue
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise ServiceError(Code.INVALID, _("enter a whole number"), field=key) from exc
        if number < 0 or number > 10_000_000:
            raise ServiceError(
                Code.INVALID, _("enter a number between 0 and 10,000,000"), field=key
            )
        out[key] = number
    prefix = str(raw.get("postal_prefix") or "").strip()
    if len(prefix) > 12:
        raise ServiceError(Code.TOO_LONG, _("12 characters at most"), field="postal_prefix")
    if prefix:
        out["postal_prefix"] = prefix
    consent = str(raw.get("consent") or "")
    if consent and consent not in Purpose.values:
        raise ServiceError(Code.INVALID, _("unknown purpose"), field="consent")
    if consent:
        out["consent"] = consent
    rfm = raw.get("rfm") or []
    if isinstance(rfm, str):
        rfm = [v.strip() for v in rfm.split(",") if v.strip()]
    from cueillette.insights.rfm import Segment as RfmSegment

    known = {s.value for s in RfmSegment}
    unknown = [str(v) for v in rfm if str(v) not in known]
    if unknown:
        raise ServiceError(
            Code.INVALID,
            _("unknown segment: %(codes)s") % {"codes": ", ".join(unknown)},
            field="rfm",
        )
    if rfm:
        out["rfm"] = sorted({str(v) for v in rfm})
    language = str(raw.get("language") or "")
    if language and language not in ("fr", "en"):
        raise ServiceError(Code.INVALID, _("French or English"), field="language")
    if language:
        out["language"] = language
    return out


@transaction.atomic
def save_segment(
    who: Staff, *, name: str, filters: SegmentFilters, segment: Segment | None = None
) -> Segment:
    """Create or change a saved audience."""
    who.require(Perm.SEND_CAMPAIGNS)
    name = (name or "").strip()
    if not name:
        raise ServiceError(Code.REQUIRED, _("give the segment a name"), field="name")
    if len(name) > 100:
        raise ServiceError(Code.TOO_LONG, _("100 characters at most"), field="name")
    cleaned = clean_filters(filters)
    if segment is None:
        segment = Segment.objects.create(name=name, filters=cleaned)
        audit.record(who.actor, "messaging.segment_created", segment)
    else:
        segment.name, segment.filters = name, cleaned
        segment.save()
        audit.record(who.actor, "messaging.segment_changed", segment)
    return segment


# --------------------------------------------------------------------------- campaigns


@dataclass(frozen=True)
class CampaignInput:
    name: str
    subject_fr: str = ""
    body_fr: str = ""
    subject_en: str = ""
    body_en: str = ""
    segment_id: int | None = None
    holdout_percent: int = 0
    results_days: int = 14


def _clean_campaign(data: CampaignInput) -> dict[str, Any]:
    name = (data.name or "").strip()
    if not name:
        raise ServiceError(Code.REQUIRED, _("give the campaign a name"), field="name")
    if len(name) > 120:
        raise ServiceError(Code.TOO_LONG, _("120 characters at most"), field="name")
    org = current_org()
    main = "en" if org.language == "en" else "fr"
    out: dict[str, Any] = {"name": name}
    for lang in ("fr", "en"):
        subject = (getattr(data, f"subject_{lang}") or "").strip()
        body = (getattr(data, f"body_{lang}") or "").strip()
        if len(subject) > 200:
            raise ServiceError(Code.TOO_LONG, _("200 characters at most"), field=f"subject_{lang}")
        if "\n" in subject or "\r" in subject:
            raise ServiceError(Code.INVALID, _("a subject is one line"), field=f"subject_{lang}")
        if body:
            render.check_body(body, field=f"body_{lang}")
        if lang == main or subject or body:
            if not subject:
                raise ServiceError(
                    Code.EMPTY_SUBJECT, _("write a subject"), field=f"subject_{lang}"
                )
            if not body:
                raise ServiceError(Code.EMPTY_BODY, _("write the message"), field=f"body_{lang}")
        out[f"subject_{lang}"], out[f"body_{lang}"] = subject, body
    if data.segment_id is not None and not Segment.objects.filter(pk=data.segment_id).exists():
        raise ServiceError(Code.INVALID, _("choose one of your segments"), field="segment")
    out["segment_id"] = data.segment_id
    if not 0 <= int(data.holdout_percent) <= 50:
        raise ServiceError(Code.INVALID, _("between 0 and 50"), field="holdout_percent")
    out["holdout_percent"] = int(data.holdout_percent)
    if not 1 <= int(data.results_days) <= 90:
        raise ServiceError(Code.INVALID, _("between 1 and 90 days"), field="results_days")
    out["results_days"] = int(data.results_days)
    return out


@transaction.atomic
def save_campaign(who: Staff, data: CampaignInput, *, campaign: Campaign | None = None) -> Campaign:
    """Create or change a draft: subjects and bodies are checked (no script, no image)."""
    who.require(Perm.SEND_CAMPAIGNS)
    values = _clean_campaign(data)
    if campaign is None:
        campaign = Campaign.objects.create(created_by=who.actor.user, **values)
        audit.record(who.actor, "messaging.campaign_created", campaign)
        return campaign
    campaign = _lock(campaign)
    if not campaign.editable:
        raise ServiceError(
            Code.NOT_EDITABLE, _("this campaign has been sent: duplicate it to change it")
        )
    for key, value in values.items():
        setattr(campaign, key, value)
    campaign.save()
    audit.record(who.actor, "messaging.campaign_changed", campaign)
    return campaign


def _lock(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def _check_audience(campaign: Campaign, now: dt.datetime) -> audience.Audience:
    if campaign.segment is None:
        raise ServiceError(Code.REQUIRED, _("choose who receives it (a segment)"), field="segment")
    result = audience.decide_audience(campaign, now=now)
    if result.total == 0:
        raise ServiceError(
            Code.EMPTY_AUDIENCE,
            _("nobody is in this segment: widen its filters"),
            field="segment",
        )
    if result.sending == 0:
        raise ServiceError(
            Code.EMPTY_AUDIENCE,
            _("nobody in this segment may receive it (see the exclusions)"),
            field="segment",
        )
    return result


@transaction.atomic
def send_campaign(
    who: Staff,
    campaign: Campaign,
    *,
    when: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Campaign:
    """Send now, or schedule for ``when`` (aware, in the future). Twice is once."""
    who.require(Perm.SEND_CAMPAIGNS)
    now = now or timezone.now()
    campaign = _lock(campaign)
    if campaign.status in (CampaignStatus.SENDING, CampaignStatus.SENT):
        return campaign  # a double click: the first one is already sending
    if campaign.status == CampaignStatus.CANCELLED:
        raise ServiceError(Code.NOT_EDITABLE, _("this campaign was cancelled"))
    _clean_campaign(_input_of(campaign))
    if when is not None and when <= now:
        raise ServiceError(
            Code.SCHEDULED_IN_PAST, _("choose a time in the future"), field="scheduled_at"
        )
    counts = _check_audience(campaign, now)
    if when is not None:
        campaign.status, campaign.scheduled_at = CampaignStatus.SCHEDULED, when
        campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
        audit.record(who.actor, "messaging.campaign_scheduled", campaign, at=when.isoformat())
        return campaign
    campaign.status, campaign.started_at = CampaignStatus.SENDING, now
    campaign.save(update_fields=["status", "started_at", "updated_at"])
    audit.record(who.actor, "messaging.campaign_sent", campaign, **counts.as_dict())
    start_dispatch_on_commit(campaign)
    return campaign


def start_dispatch_on_commit(campaign: Campaign) -> None:
    from cueillette.messaging import tasks

    org_id, pk = campaign.organization_id, campaign.pk
    transaction.on_commit(lambda: tasks.dispatch_campaign.enqueue(org_id, pk))


def _input_of(c: Campaign) -> CampaignInput:
    return CampaignInput(
        name=c.name,
        subject_fr=c.subject_fr,
        body_fr=c.body_fr,
        subject_en=c.subject_en,
        body_en=c.body_en,
        segment_id=c.segment_id,
        holdout_percent=c.holdout_percent,
        results_days=c.results_days,
    )


@transaction.atomic
def cancel_campaign(who: Staff, campaign: Campaign) -> Campaign:
    """A scheduled campaign goes back to draft; a draft is cancelled."""
    who.require(Perm.SEND_CAMPAIGNS)
    campaign = _lock(campaign)
    if campaign.status == CampaignStatus.SCHEDULED:
        campaign.status, campaign.scheduled_at = CampaignStatus.DRAFT, None
    elif campaign.status == CampaignStatus.DRAFT:
        campaign.status = CampaignStatus.CANCELLED
    else:
        raise ServiceError(Code.ALREADY_SENT, _("this campaign is already being sent"))
    campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
    audit.record(who.actor, "messaging.campaign_cancelled", campaign)
    return campaign


def compose_campaign(
    campaign: Campaign, language: str, *, unsubscribe_url: str
) -> tuple[str, str, str]:
    org = current_org()
    return render.compose(
        subject=campaign.subject(language),
        body=campaign.body(language),
        context={
            "organization": org,
            "values": {"business": org.name},
            "unsubscribe_url": unsubscribe_url,
            "reason": _("you agreed to receive news from us by email"),
        },
        language=language,
    )


@transaction.atomic
def test_send(who: Staff, campaign: Campaign) -> list[Delivery]:
    """Send each written version to the staff member themselves (marked as a test)."""
    who.require(Perm.SEND_CAMPAIGNS)
    user = who.actor.user
    if user is None or not user.email:
        raise ServiceError(Code.NO_ADDRESS, _("your account has no email address"))
    _clean_campaign(_input_of(campaign))
    sent = []
    for lang in ("fr", "en"):
        if not (getattr(campaign, f"subject_{lang}") and getattr(campaign, f"body_{lang}")):
            continue
        subject, text, html = compose_campaign(
            campaign, lang, unsubscribe_url=gate.UNSUBSCRIBE_PLACEHOLDER
        )
        name = (user.full_name or "").split(" ")[0]
        subject, text = subject.replace("{first_name}", name), text.replace("{first_name}", name)
        html = html.replace("{first_name}", escape(name))
        sent.append(
            gate.request_message(
                gate.Message(
                    kind="campaign_test",
                    klass=MessageClass.STAFF,
                    subject=f"[{_('Test')}] {subject}",
                    text=text,
                    html=html,
                    to=user.email,
                    language=lang,
                )
            )
        )
    audit.record(who.actor, "messaging.campaign_test_sent", campaign, versions=len(sent))
    return sent


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class PressureChange:
    """A change to the pressure settings; a field left :data:`UNSET` stays as it is."""

    max_marketing: int | Unset = UNSET
    window_days: int | Unset = UNSET
    per_second: int | Unset = UNSET
    quiet_start: dt.time | str | Unset = UNSET
    quiet_end: dt.time | str | Unset = UNSET


@transaction.atomic
def update_pressure(who: Staff, change: PressureChange) -> PressureSettings:
    """The marketing cap, its window, quiet hours and the send rate."""
    who.require(Perm.MANAGE_MESSAGES)
    data = given(change)
    row = PressureSettings.objects.select_for_update().first() or PressureSettings()
    limits = {"max_marketing": (0, 30), "window_days": (1, 365), "per_second": (1, 1000)}
    for key, (low, high) in limits.items():
        try:
            value = int(data.get(key, getattr(row, key)))
        except (TypeError, ValueError) as exc:
            raise ServiceError(Code.INVALID, _("enter a whole number"), field=key) from exc
        if not low <= value <= high:
            raise ServiceError(
                Code.INVALID,
                _("between %(low)d and %(high)d") % {"low": low, "high": high},
                field=key,
            )
        setattr(row, key, value)
    for key in ("quiet_start", "quiet_end"):
        when = data.get(key, getattr(row, key))
        if isinstance(when, str):
            try:
                when = dt.time.fromisoformat(when)
            except ValueError as exc:
                raise ServiceError(Code.INVALID, _("a time such as 21:00"), field=key) from exc
        if not isinstance(when, dt.time):
            raise ServiceError(Code.INVALID, _("a time such as 21:00"), field=key)
        setattr(row, key, when)
    row.save()
    audit.record(who.actor, "messaging.pressure_changed", row, max=row.max_marketing)
    return row


@dataclass(frozen=True)
class AutomaticInput:
    """An automatic message's switch and, for ours, its words (the whole form: an empty
    subject or body means "our default words"); ``weeks`` only for "we miss you"."""

    enabled: bool = False
    subject_fr: str = ""
    body_fr: str = ""
    subject_en: str = ""
    body_en: str = ""
    weeks: int | None = None


@transaction.atomic
def update_automatic(who: Staff, kind: str, data: AutomaticInput) -> AutomaticMessage:
    """Switch an automatic message on or off and, for ours, set its words."""
    who.require(Perm.MANAGE_MESSAGES)
    if kind not in KINDS:
        raise NotFound(Code.INVALID, _("unknown automatic message"))
    row = setting(kind)
    row.enabled = bool(data.enabled)
    if KINDS[kind].editable:
        for lang in ("fr", "en"):
            subject = str(getattr(data, f"subject_{lang}") or "").strip()
            body = str(getattr(data, f"body_{lang}") or "").strip()
            if len(subject) > 200:
                raise ServiceError(
                    Code.TOO_LONG, _("200 characters at most"), field=f"subject_{lang}"
                )
            if body:
                render.check_body(body, field=f"body_{lang}")
            setattr(row, f"subject_{lang}", subject)
            setattr(row, f"body_{lang}", body)
    if kind == "we_miss_you":
        try:
            weeks = int(data.weeks or row.weeks)
        except (TypeError, ValueError) as exc:
            raise ServiceError(Code.INVALID, _("enter a whole number"), field="weeks") from exc
        if not 2 <= weeks <= 104:
            raise ServiceError(Code.INVALID, _("between 2 and 104 weeks"), field="weeks")
        row.weeks = weeks
    row.save()
    audit.record(who.actor, "messaging.automatic_changed", row, kind=kind, enabled=row.enabled)
    return row


# --------------------------------------------------------------------------- leaving


def delivery_for_token(token: str) -> Delivery:
    """The delivery an unsubscribe link names, in the current organization."""
    try:
        pk = int(unsign(token, gate.UNSUBSCRIBE_SALT, gate.UNSUBSCRIBE_MAX_AGE))
    except (signing.BadSignature, ValueError) as exc:
        raise NotFound(Code.TOKEN_INVALID, _("this link is not valid")) from exc
    delivery = Delivery.objects.select_related("customer").filter(pk=pk).first()
    if delivery is None or delivery.customer is None:
        raise NotFound(Code.TOKEN_INVALID, _("this link is not valid"))
    return delivery


UNSUBSCRIBE_ACTOR = "unsubscribe link"


@transaction.atomic
def unsubscribe(delivery: Delivery, choice: str = "stop") -> str:
    """What the person chose on the link of a message: ``stop`` (withdraw the message's
    purpose, in the ledger with source unsubscribe_link), ``all`` (every purpose that speaks
    by email or SMS), ``fewer`` (one marketing message per window) or ``pause`` (3 months).
    In force before the next message: the gate reads the ledger at send time."""
    customer = delivery.customer
    if customer is None:
        raise NotFound(Code.TOKEN_INVALID, _("this link is not valid"))
    actor = Actor.customer(UNSUBSCRIBE_ACTOR)
    if choice in ("fewer", "pause"):
        pref = Preference.objects.select_for_update().filter(customer=customer).first()
        pref = pref or Preference(customer=customer)
        if choice == "fewer":
            pref.fewer = True
        else:
            pref.paused_until = timezone.now() + dt.timedelta(days=PAUSE_DAYS)
        pref.save()
        audit.record(actor, f"messaging.{choice}", customer, delivery=delivery.pk)
        return choice
    if not customer.is_active:
        return choice
    if choice == "all":
        purposes = [p for p, chans in rules.PURPOSE_CHANNELS.items() if chans]
    else:
        purposes = [delivery.purpose] if delivery.purpose else []
    for purpose in purposes:
        customer_services.record_consent(
            customer,
            purpose,
            False,
            source=Source.UNSUBSCRIBE_LINK,
            actor=actor,
            evidence={"delivery": delivery.pk, "choice": choice},
        )
    audit.record(actor, "messaging.unsubscribed", customer, delivery=delivery.pk, choice=choice)
    return choice


# --------------------------------------------------------------------------- suppressions


@transaction.atomic
def suppress(
    address: str,
    reason: str,
    *,
    channel: str = Channel.EMAIL,
    detail: str = "",
    actor: Actor | None = None,
) -> Suppression:
    """No non-transactional message reaches ``address`` any more (idempotent)."""
    if reason not in SuppressionReason.values:
        raise ServiceError(Code.INVALID, _("unknown reason"), field="reason")
    address = gate.normalise_address(channel, address)
    if not address:
        raise ServiceError(Code.REQUIRED, _("an address is needed"), field="address")
    row, created = Suppression.objects.get_or_create(
        channel=channel, address=address, defaults={"reason": reason, "detail": detail[:300]}
    )
    if created:
        audit.record(actor or Actor.system("messaging"), "messaging.suppressed", row, reason=reason)
    return row


@transaction.atomic
def lift_suppression(who: Staff, suppression: Suppression) -> None:
    """The owner lifts a suppression (the address was fixed, the complaint was a mistake)."""
    who.require(Perm.MANAGE_MESSAGES)
    audit.record(who.actor, "messaging.suppression_lifted", suppression, reason=suppression.reason)
    suppression.delete()
