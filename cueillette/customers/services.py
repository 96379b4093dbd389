"""Every write about customers and consents: atomic, audited, emails sent on commit."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cueillette.core import audit, consequences, permissions
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence
from cueillette.core.errors import ServiceError
from cueillette.core.inputs import UNSET, Unset, given
from cueillette.core.mail import send_templated
from cueillette.core.models import Organization
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import current_org
from cueillette.core.tokens import hash_token, new_token, sign, unsign
from cueillette.customers.errors import Code
from cueillette.customers.models import (
    DOUBLE_OPT_IN_PURPOSES,
    PURPOSE_CHANNEL,
    AccessToken,
    ConsentEvent,
    ConsentWording,
    Customer,
    CustomerStatus,
    EmailConfirmation,
    HeardFrom,
    Purpose,
    Source,
)
from cueillette.customers.normalize import (
    fold,
    normalize_email,
    normalize_phone,
    parse_phone,
    phone_search_key,
)
from cueillette.customers.wordings import DEFAULT_WORDINGS, render

CONFIRMATION_SALT = "cueillette.consent.confirm"
CONFIRMATION_MAX_AGE = 7 * 24 * 3600

# name -> max length for free-text fields customers and staff type.
TEXT_FIELDS: dict[str, int] = {
    "first_name": 100,
    "last_name": 100,
    "postal_code": 12,
    "notes": 5000,
    "heard_from_detail": 200,
}
EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "postal_code",
    "language",
    "birthday",
    "notes",
    "tags",
    "heard_from",
    "heard_from_detail",
)
MAX_TAGS = 30
MAX_TAG_LENGTH = 40


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class FieldWarning:
    """Something kept but worth a second look, naming the field and the reason (never a
    refusal): a phone in a range the phone library does not know, a tag that reads like
    health data."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


def health_tag_warnings(tags: Iterable[str], known: Iterable[str] = ()) -> list[FieldWarning]:
    """One warning per new tag that looks like health data (GDPR art. 9): it belongs in a
    care note, which feeds no segment and no offer."""
    from cueillette.customers import care

    before = {str(t).strip().casefold() for t in known}
    new = [t for t in tags if str(t).strip().casefold() not in before]
    return [
        FieldWarning("tags", Code.HEALTH_LIKE_TAG, care.health_tag_message(tag))
        for tag in care.health_like(new)
    ]


@dataclass(frozen=True)
class CustomerInput:
    """A customer's fields as the counter form, the API, the customer space, the join page,
    an import or the events' door give them, as typed: the actions check and normalise them
    once (:func:`clean_customer_data`) and report every bad field. A field left
    :data:`UNSET` was not given: an update leaves it as it is, a creation leaves it empty
    (``email=""`` clears an address)."""

    first_name: str | Unset = UNSET
    last_name: str | Unset = UNSET
    email: str | Unset = UNSET
    phone: str | Unset = UNSET
    postal_code: str | Unset = UNSET
    language: str | Unset = UNSET
    birthday: dt.date | str | Unset | None = UNSET
    notes: str | Unset = UNSET
    tags: str | Sequence[str] | Unset = UNSET
    heard_from: str | Unset = UNSET
    heard_from_detail: str | Unset = UNSET

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> CustomerInput:
        """From named fields (an API body, an import row); a name that is not a customer
        field is refused like a bad field."""
        unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
        if unknown:
            errors = [
                {
                    "code": Code.INVALID,
                    "field": name,
                    "message": _("%(field)s is not a customer field") % {"field": name},
                }
                for name in unknown
            ]
            first = errors[0]
            raise ServiceError(first["code"], first["message"], field=first["field"], errors=errors)
        return cls(**fields)


def clean_customer_data(
    inp: CustomerInput,
    *,
    partial: bool = False,
    warnings: list[FieldWarning] | None = None,
) -> dict[str, Any]:
    """Validate and normalise customer fields; raise one ServiceError listing every bad field.

    ``warnings``, when given, receives what is kept but deserves a look (a phone number of
    the right length in a range the phone library does not know)."""
    data = given(inp)
    errors: list[dict[str, Any]] = []
    out: dict[str, Any] = {}

    def fail(code: str, field: str, message: str) -> None:
        errors.append({"code": code, "field": field, "message": message})

    for name, max_len in TEXT_FIELDS.items():
        if name in data:
            value = str(data[name] or "").strip()
            if len(value) > max_len:
                fail(
                    Code.TOO_LONG,
                    name,
                    _("%(field)s is too long: %(n)d characters, %(max)d at most")
                    % {"field": name, "n": len(value), "max": max_len},
                )
            out[name] = value
    if "email" in data:
        try:
            out["email"] = normalize_email(str(data["email"] or ""))
        except ServiceError as exc:
            fail(exc.code, "email", exc.message)
    if "phone" in data:
        try:
            out["phone"], warning = parse_phone(str(data["phone"] or ""))
        except ServiceError as exc:
            fail(exc.code, "phone", exc.message)
        else:
            if warning and warnings is not None:
                warnings.append(FieldWarning("phone", Code.PHONE_UNALLOCATED, warning))
    if "language" in data:
        lang = str(data["language"] or "fr")
        if lang not in ("fr", "en"):
            fail(Code.INVALID, "language", _("language must be fr or en"))
        out["language"] = lang
    if "birthday" in data:
        value = data["birthday"]
        if value in (None, ""):
            out["birthday"] = None
        elif isinstance(value, dt.date):
            out["birthday"] = value
        else:
            try:
                out["birthday"] = dt.date.fromisoformat(str(value))
            except ValueError:
                fail(Code.INVALID, "birthday", _("birthday is not a date (YYYY-MM-DD)"))
        bday = out.get("birthday")
        if isinstance(bday, dt.date) and not (dt.date(1900, 1, 1) <= bday <= dt.date.today()):
            fail(Code.INVALID, "birthday", _("birthday must be between 1900 and today"))
    if "tags" in data:
        raw = data["tags"]
        if isinstance(raw, str):
            raw = [t for t in raw.split(",")]
        if not isinstance(raw, list | tuple):
            fail(Code.INVALID, "tags", _("tags must be a list"))
            raw = []
        tags: list[str] = []
        for tag in raw:
            t = str(tag).strip().lower()
            if not t:
                continue
            if len(t) > MAX_TAG_LENGTH:
                fail(Code.TOO_LONG, "tags", _("a tag is %(max)d characters at most") % {"max": 40})
            elif t not in tags:
                tags.append(t)
        if len(tags) > MAX_TAGS:
            fail(Code.TOO_LONG, "tags", _("%(max)d tags at most") % {"max": MAX_TAGS})
        out["tags"] = tags
    if "heard_from" in data:
        value = str(data["heard_from"] or "")
        if value not in HeardFrom.values:
            fail(Code.INVALID, "heard_from", _("unknown answer to how did you hear about us"))
        out["heard_from"] = value

    if not partial:
        if not (out.get("first_name") or out.get("last_name")):
            fail(Code.REQUIRED, "last_name", _("a first or last name is required"))
        if not (out.get("email") or out.get("phone")) and not errors:
            # A customer we cannot reach is allowed (counter), but say so: keep it permissive.
            pass
    if errors:
        first = errors[0]
        raise ServiceError(first["code"], first["message"], field=first["field"], errors=errors)
    return out


def _refresh_search_keys(customer: Customer) -> None:
    customer.search_last = fold(customer.last_name)[:100]
    customer.search_first = fold(customer.first_name)[:100]
    customer.search_phone = phone_search_key(customer.phone)


def parse_purpose(value: str, field: str = "purpose") -> Purpose:
    try:
        return Purpose(value)
    except ValueError as exc:
        raise ServiceError(
            Code.UNKNOWN_PURPOSE,
            _("purpose is not known: %(value)s (expected one of %(choices)s)")
            % {"value": value, "choices": ", ".join(Purpose.values)},
            field=field,
        ) from exc


def parse_source(value: str, field: str = "source") -> Source:
    try:
        return Source(value)
    except ValueError as exc:
        raise ServiceError(
            Code.UNKNOWN_SOURCE, _("source is not known: %(value)s") % {"value": value}, field=field
        ) from exc


# --------------------------------------------------------------------------- wordings


def seed_wordings(org: Organization) -> None:
    """Give a new organization version 1 of every wording in French and English."""
    for purpose, texts in DEFAULT_WORDINGS.items():
        for language, text in texts.items():
            ConsentWording.objects.unscoped().get_or_create(  # seeding a given organization
                organization=org,
                purpose=purpose,
                language=language,
                version=1,
                defaults={"text": render(text, org.name)},
            )


def current_wording(purpose: str, language: str) -> ConsentWording:
    lang = language if language in ("fr", "en") else current_org().language
    wording = (
        ConsentWording.objects.filter(purpose=purpose, language=lang).order_by("-version").first()
    )
    if wording is None:
        seed_wordings(current_org())
        wording = ConsentWording.objects.filter(purpose=purpose, language=lang).order_by(
            "-version"
        )[0]
    return wording


def current_wordings(language: str) -> dict[str, ConsentWording]:
    return {p: current_wording(p, language) for p in Purpose.values}


@transaction.atomic
def set_wording(purpose: str, language: str, text: str, *, actor: Actor) -> ConsentWording:
    """A changed wording is a new version; consents given to old versions stay tied to them."""
    permissions.require(actor, Perm.EDIT_WORDINGS)
    purpose = parse_purpose(purpose)
    text = (text or "").strip()
    if not text:
        raise ServiceError(Code.REQUIRED, _("text is required"), field="text")
    if len(text) > 2000:
        raise ServiceError(
            Code.TOO_LONG, _("text is too long (2000 characters at most)"), field="text"
        )
    if language not in ("fr", "en"):
        raise ServiceError(Code.INVALID, _("language must be fr or en"), field="language")
    previous = current_wording(purpose, language)
    if previous.text == text:
        return previous
    wording = ConsentWording.objects.create(
        purpose=purpose,
        language=language,
        version=previous.version + 1,
        text=text,
        created_by=actor.user,
    )
    audit.record(
        actor,
        "wording.new_version",
        wording,
        purpose=purpose,
        language=language,
        version=wording.version,
        text_hash=wording.text_hash,
    )
    return wording


# --------------------------------------------------------------------------- customers


@dataclass(frozen=True)
class CustomerResult:
    """A created or updated customer and what was kept with a warning (field and reason)."""

    customer: Customer
    warnings: tuple[FieldWarning, ...] = ()


def create_customer(data: CustomerInput, **kwargs: Any) -> Customer:
    """:func:`create_customer_result`, returning the customer only."""
    return create_customer_result(data, **kwargs).customer


@transaction.atomic
def create_customer_result(
    data: CustomerInput,
    *,
    actor: Actor,
    source: str = Source.COUNTER,
    consents: Mapping[str, bool] | None = None,
    consent_language: str | None = None,
    referrer: Customer | None = None,
) -> CustomerResult:
    """Create a customer and record the consents they gave (nothing is assumed).

    ``referrer``: who sent them ("who sent you?" at the counter), in CUSTOMER_JOINED's payload:
    the referrals app records the referral in this transaction, and its refusal creates
    nothing. The result's warnings say what was kept but deserves a look."""
    permissions.require(actor, Perm.SERVE_CUSTOMERS, customer=True)
    source = parse_source(source)
    warnings: list[FieldWarning] = []
    cleaned = clean_customer_data(data, warnings=warnings)
    warnings += health_tag_warnings(cleaned.get("tags") or [])
    customer = Customer(source=source, last_activity_at=timezone.now(), **cleaned)
    _refresh_search_keys(customer)
    customer.save()
    audit.record(actor, "customer.created", customer, source=source, fields=sorted(cleaned))
    consequences.fire(
        Consequence.CUSTOMER_JOINED,
        organization_id=customer.organization_id,
        customer=customer,
        source=str(source),
        actor=actor,
        referrer=referrer,
    )
    for purpose, granted in (consents or {}).items():
        if granted:
            record_consent(
                customer,
                purpose,
                True,
                source=source,
                actor=actor,
                language=consent_language or customer.language,
            )
    return CustomerResult(customer, tuple(warnings))


def update_customer(customer: Customer, data: CustomerInput, *, actor: Actor) -> Customer:
    """:func:`update_customer_result`, returning the customer only."""
    return update_customer_result(customer, data, actor=actor).customer


@transaction.atomic
def update_customer_result(
    customer: Customer, data: CustomerInput, *, actor: Actor
) -> CustomerResult:
    """Change the given fields; the audit row names the fields, not their personal values.

    Warnings concern the fields that changed: a phone kept in an unknown range, a new tag
    that reads like health data."""
    permissions.require(actor, Perm.SERVE_CUSTOMERS, customer=True)
    if not customer.is_active:
        raise ServiceError(Code.CUSTOMER_INACTIVE, _("this customer record is no longer active"))
    warnings: list[FieldWarning] = []
    cleaned = clean_customer_data(data, partial=True, warnings=warnings)
    changed = [name for name, value in cleaned.items() if getattr(customer, name) != value]
    if not changed:
        return CustomerResult(customer)
    warnings = [w for w in warnings if w.field in changed]
    if "tags" in changed:
        warnings += health_tag_warnings(cleaned["tags"], known=customer.tags or [])
    for name in changed:
        setattr(customer, name, cleaned[name])
    _refresh_search_keys(customer)
    customer.save()
    audit.record(actor, "customer.updated", customer, fields=sorted(changed))
    consequences.fire(
        Consequence.CUSTOMER_UPDATED,
        organization_id=customer.organization_id,
        customer=customer,
        fields=sorted(changed),
        actor=actor,
    )
    return CustomerResult(customer, tuple(warnings))


def touch_activity(customer: Customer, when: dt.datetime | None = None) -> None:
    """Note that the customer was active (a visit, a purchase, a login to their space)."""
    Customer.objects.filter(pk=customer.pk).update(last_activity_at=when or timezone.now())


def find_duplicates(
    *, email: str = "", phone: str = "", exclude: Iterable[int] = ()
) -> list[Customer]:
    """Active customers sharing the normalised email or phone."""

    cond = Q()
    if email:
        # A half-typed or invalid email (live check at the counter) matches nobody.
        with contextlib.suppress(ServiceError):
            cond |= Q(email=normalize_email(email))
    if phone:
        with contextlib.suppress(ServiceError):
            cond |= Q(phone=normalize_phone(phone))
    if not cond:
        return []
    return list(
        Customer.objects.filter(cond, status=CustomerStatus.ACTIVE).exclude(pk__in=list(exclude))
    )


@transaction.atomic
def merge_customers(survivor: Customer, other: Customer, *, actor: Actor) -> Customer:
    """Fold ``other`` into ``survivor``; both histories stay, nothing is deleted.

    The other record is kept with status "merged" and a pointer; its consent entries are
    copied onto the survivor (same time, wording and source, with evidence pointing at the
    original entry) so the survivor's derived state takes the most recent decision of both.
    Empty fields of the survivor are filled from the other record; notes and tags are joined.
    """
    permissions.require(actor, Perm.MERGE_CUSTOMERS)
    if survivor.pk == other.pk:
        raise ServiceError(
            Code.MERGE_SAME, _("a record cannot be merged into itself"), field="other"
        )
    for c in (survivor, other):
        if not c.is_active:
            raise ServiceError(
                Code.CUSTOMER_INACTIVE, _("only active records can be merged"), field="other"
            )
    filled = []
    for name in (
        "first_name",
        "last_name",
        "email",
        "phone",
        "postal_code",
        "birthday",
        "heard_from",
        "heard_from_detail",
    ):
        if not getattr(survivor, name) and getattr(other, name):
            setattr(survivor, name, getattr(other, name))
            filled.append(name)
    if other.notes:
        survivor.notes = (survivor.notes + "\n\n" + other.notes).strip()[:5000]
    survivor.tags = list(dict.fromkeys([*survivor.tags, *other.tags]))[:MAX_TAGS]
    if other.last_activity_at and (
        not survivor.last_activity_at or other.last_activity_at > survivor.last_activity_at
    ):
        survivor.last_activity_at = other.last_activity_at
    _refresh_search_keys(survivor)
    survivor.save()

    copied = 0
    for event in other.consent_events.order_by("occurred_at", "id"):
        ConsentEvent.objects.create(
            customer=survivor,
            purpose=event.purpose,
            channel=event.channel,
            granted=event.granted,
            occurred_at=event.occurred_at,
            source=event.source,
            wording=event.wording,
            wording_hash=event.wording_hash,
            actor_kind=event.actor_kind,
            actor_user=event.actor_user,
            actor_label=event.actor_label,
            evidence={
                **event.evidence,
                "merged_from_event": event.pk,
                "merged_from_customer": other.pk,
            },
        )
        copied += 1
    other.status = CustomerStatus.MERGED
    other.merged_into = survivor
    other.save(update_fields=["status", "merged_into", "updated_at"])
    Customer.objects.filter(merged_into=other).update(merged_into=survivor)
    audit.record(
        actor,
        "customer.merged",
        survivor,
        merged_from=other.pk,
        filled_fields=filled,
        consent_entries_copied=copied,
    )
    consequences.fire(
        Consequence.CUSTOMER_MERGED,
        organization_id=survivor.organization_id,
        survivor=survivor,
        other=other,
        actor=actor,
    )
    return survivor


def history_ids(customer: Customer) -> list[int]:
    """The customer's id and the ids of every record merged into it."""
    ids = [customer.pk]
    frontier = [customer.pk]
    while frontier:
        frontier = list(
            Customer.objects.filter(merged_into__in=frontier).values_list("pk", flat=True)
        )
        ids.extend(frontier)
    return ids


# --------------------------------------------------------------------------- consent


def consent_state(customer: Customer) -> dict[str, ConsentEvent | None]:
    """For each purpose, the latest ledger entry (None: never asked)."""
    state: dict[str, ConsentEvent | None] = dict.fromkeys(Purpose.values)
    for event in customer.consent_events.select_related("wording").order_by(
        "purpose", "-occurred_at", "-id"
    ):
        if state.get(event.purpose) is None:
            state[event.purpose] = event
    return state


def consent_states(customer_ids: Iterable[int], purpose: str) -> dict[int, bool]:
    """For each customer id, whether their latest entry for ``purpose`` grants (absent: never
    asked). One query, for batches (an import's consequences)."""
    state: dict[int, bool] = {}
    rows = (
        ConsentEvent.objects.filter(customer_id__in=list(customer_ids), purpose=purpose)
        .order_by("customer_id", "occurred_at", "id")
        .values_list("customer_id", "granted")
    )
    for customer_id, granted in rows:
        state[customer_id] = granted  # ordered: the last one wins
    return state


def has_consent(customer: Customer, purpose: str) -> bool:
    latest = customer.consent_events.filter(purpose=purpose).order_by("-occurred_at", "-id").first()
    return bool(latest and latest.granted)


def _check_channel(customer: Customer, purpose: str) -> None:
    channel = PURPOSE_CHANNEL[purpose]
    if channel == "email" and not customer.email:
        raise ServiceError(
            Code.NO_EMAIL_FOR_CONSENT,
            _("an email address is needed for this purpose"),
            field="email",
        )
    if channel == "sms" and not customer.phone:
        raise ServiceError(
            Code.NO_PHONE_FOR_CONSENT, _("a phone number is needed for this purpose"), field="phone"
        )


@dataclass(frozen=True)
class ConsentResult:
    """What recording a decision did: ``created`` a ledger entry, or ``pending`` a double
    opt-in confirmation, or neither (``entry`` is then the unchanged latest decision)."""

    entry: ConsentEvent | None
    pending: EmailConfirmation | None = None
    created: bool = False


def record_consent(
    customer: Customer, purpose: str, granted: bool, **kwargs: Any
) -> ConsentEvent | EmailConfirmation | None:
    """:func:`record_consent_result`, returning the entry (new or unchanged) or the pending
    confirmation."""
    result = record_consent_result(customer, purpose, granted, **kwargs)
    return result.pending if result.pending is not None else result.entry


@transaction.atomic
def record_consent_result(
    customer: Customer,
    purpose: str,
    granted: bool,
    *,
    source: str,
    actor: Actor,
    language: str | None = None,
    wording: ConsentWording | None = None,
    evidence: Mapping[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
) -> ConsentResult:
    """Append a grant or withdrawal to the ledger.

    A grant for a double opt-in purpose (news by email) is not recorded yet: a confirmation
    email is sent and an :class:`EmailConfirmation` returned; the grant is recorded when the
    customer confirms. A request that would not change the state (same decision, same wording)
    writes nothing and returns the current entry.
    """
    permissions.require(actor, Perm.SERVE_CUSTOMERS, customer=True)
    return _record_consent(
        customer,
        purpose,
        granted,
        source=source,
        actor=actor,
        language=language,
        wording=wording,
        evidence=evidence,
        occurred_at=occurred_at,
    )


def _record_consent(
    customer: Customer,
    purpose: str,
    granted: bool,
    *,
    source: str,
    actor: Actor,
    language: str | None = None,
    wording: ConsentWording | None = None,
    evidence: Mapping[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
) -> ConsentResult:
    """:func:`record_consent_result` once its actor is allowed (or, for a confirmed double
    opt-in, was allowed when the confirmation was asked for)."""
    purpose = parse_purpose(purpose)
    source = parse_source(source)
    if not customer.is_active:
        raise ServiceError(Code.CUSTOMER_INACTIVE, _("this customer record is no longer active"))
    language = language or customer.language
    wording = wording or current_wording(purpose, language)
    if granted:
        _check_channel(customer, purpose)
    latest = customer.consent_events.filter(purpose=purpose).order_by("-occurred_at", "-id").first()
    if (
        latest is not None
        and latest.granted == granted
        and (not granted or latest.wording_id == wording.pk)
        # A back-dated entry (import, replay) is skipped only when it would sit right after
        # an identical latest entry; otherwise a later, older-dated entry could change the
        # derived state while this newer decision was dropped.
        and (occurred_at is None or occurred_at == latest.occurred_at)
    ):
        return ConsentResult(entry=latest)
    if (
        granted
        and purpose in DOUBLE_OPT_IN_PURPOSES
        and not (evidence or {}).get("double_opt_in_confirmed_at")
    ):
        pending = request_email_confirmation(
            customer, purpose, source=source, actor=actor, wording=wording
        )
        return ConsentResult(entry=latest, pending=pending)
    event = ConsentEvent.objects.create(
        customer=customer,
        purpose=purpose,
        channel=PURPOSE_CHANNEL[purpose],
        granted=granted,
        occurred_at=occurred_at or timezone.now(),
        source=source,
        wording=wording,
        wording_hash=wording.text_hash,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_label=actor.label[:200],
        evidence=dict(evidence or {}),
    )
    audit.record(
        actor,
        "consent.granted" if granted else "consent.withdrawn",
        customer,
        purpose=purpose,
        source=source,
        wording_version=wording.version,
        event_id=event.pk,
    )
    # Every door (counter, API, customer space, join page, import, email confirmation) ends
    # here, so subscribers (loyalty issuing or closing the card...) hear every decision.
    consequences.fire(
        Consequence.CONSENT_CHANGED,
        organization_id=customer.organization_id,
        customer=customer,
        purpose=str(purpose),
        granted=granted,
        event=event,
        source=str(source),
        actor=actor,
    )
    return ConsentResult(entry=event, created=True)


def request_email_confirmation(
    customer: Customer,
    purpose: str,
    *,
    source: str,
    actor: Actor,
    wording: ConsentWording,
) -> EmailConfirmation:
    """Store a pending grant and email a signed, single-use, expiring confirmation link."""
    permissions.require(actor, Perm.SERVE_CUSTOMERS, customer=True)
    if not customer.email:
        raise ServiceError(
            Code.NO_EMAIL_FOR_CONSENT,
            _("an email address is needed for this purpose"),
            field="email",
        )
    raw = new_token()
    pending = EmailConfirmation.objects.create(
        customer=customer,
        purpose=purpose,
        wording=wording,
        source=source,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_label=actor.label[:200],
        nonce=hash_token(raw),
        email=customer.email,
        expires_at=timezone.now() + dt.timedelta(seconds=CONFIRMATION_MAX_AGE),
    )
    org = current_org()
    token = sign(raw, CONFIRMATION_SALT)
    url = settings.SITE_URL + reverse(
        "public:confirm_email", kwargs={"slug": org.slug, "token": token}
    )
    send_templated(
        "customers/email/confirm_subscription",
        customer.email,
        {"organization": org, "customer": customer, "url": url, "wording": wording},
        language=customer.language,
        kind="confirm_subscription",  # asked for just now: transactional
        customer=customer,
    )
    audit.record(actor, "consent.confirmation_requested", customer, purpose=purpose, source=source)
    return pending


def pending_confirmation(token: str) -> EmailConfirmation:
    """The pending grant behind a link, or a ServiceError saying why it cannot be used."""
    try:
        raw = unsign(token, CONFIRMATION_SALT, CONFIRMATION_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ServiceError(Code.TOKEN_EXPIRED, _("this link has expired")) from exc
    except signing.BadSignature as exc:
        raise ServiceError(Code.TOKEN_INVALID, _("this link is not valid")) from exc
    pending = (
        EmailConfirmation.objects.select_related("customer", "wording")
        .filter(nonce=hash_token(raw))
        .first()
    )
    if pending is None:
        raise ServiceError(Code.TOKEN_INVALID, _("this link is not valid"))
    if pending.used_at is not None:
        raise ServiceError(Code.TOKEN_USED, _("this link has already been used"))
    if pending.expires_at < timezone.now():
        raise ServiceError(Code.TOKEN_EXPIRED, _("this link has expired"))
    return pending


@transaction.atomic
def confirm_email_consent(token: str) -> ConsentEvent:
    """The customer pressed "confirm" (a POST): record the grant with its evidence."""
    pending = pending_confirmation(token)
    # Single use even under concurrent clicks: only one UPDATE can flip used_at.
    now = timezone.now()
    flipped = EmailConfirmation.objects.filter(pk=pending.pk, used_at__isnull=True).update(
        used_at=now
    )
    if not flipped:
        raise ServiceError(Code.TOKEN_USED, _("this link has already been used"))
    customer = pending.customer
    actor = Actor.customer(f"customer #{customer.pk}")
    # The grant is the customer's click; it is recorded in the name of who asked for the
    # confirmation, whose permission was checked then (their role or key is not stored).
    result = _record_consent(
        customer,
        pending.purpose,
        True,
        source=pending.source,
        actor=Actor(kind=pending.actor_kind, label=pending.actor_label, user=pending.actor_user),
        wording=pending.wording,
        evidence={
            "double_opt_in_requested_at": pending.requested_at.isoformat(),
            "double_opt_in_confirmed_at": now.isoformat(),
        },
    )
    event = result.entry
    assert isinstance(event, ConsentEvent)
    audit.record(actor, "consent.email_confirmed", customer, purpose=pending.purpose)
    return event


# --------------------------------------------------------------------------- erasure

ERASE_REASONS = ("self", "retention", "staff")


def _blank(customer: Customer, now: dt.datetime, *, actor: Actor, reason: str) -> None:
    # The names the record held, for the subscribers that take them out of texts written by
    # others (community replies quoting them); in memory only, never stored nor logged.
    former_names = (customer.first_name, customer.last_name)
    customer.first_name = ""
    customer.last_name = ""
    customer.email = ""
    customer.phone = ""
    customer.postal_code = ""
    customer.birthday = None
    customer.notes = ""
    customer.tags = []
    customer.heard_from_detail = ""  # free text: may name someone
    customer.search_first = ""
    customer.search_last = ""
    customer.search_phone = ""
    customer.status = CustomerStatus.ERASED
    customer.erased_at = now
    customer.save()
    AccessToken.objects.filter(customer=customer).delete()
    # Confirmations hold the email address they were sent to: all go, used or not.
    EmailConfirmation.objects.filter(customer=customer).delete()
    # Apps holding personal data about the customer (cards, posts, surveys) blank theirs in
    # this transaction: they subscribe in phase IN_TRANSACTION.
    consequences.fire(
        Consequence.CUSTOMER_ERASED,
        organization_id=customer.organization_id,
        customer_id=customer.pk,
        customer=customer,
        reason=reason,
        actor=actor,
        former_names=former_names,
    )


@transaction.atomic
def erase_customer(
    customer: Customer, *, actor: Actor, reason: str, now: dt.datetime | None = None
) -> Customer:
    """Anonymise the customer at once; keep the ledger and aggregates, log without identity.

    Records merged into this one hold the same person's data: they are blanked too. The
    audit row holds the id, the reason and counts only.
    """
    permissions.require(actor, Perm.ERASE_CUSTOMERS, customer=True)
    if reason not in ERASE_REASONS:
        raise ServiceError(Code.INVALID, _("unknown reason for erasure"), field="reason")
    if customer.status == CustomerStatus.ERASED:
        return customer
    now = now or timezone.now()
    ids = history_ids(customer)
    merged = list(
        Customer.objects.filter(pk__in=ids)
        .exclude(pk=customer.pk)
        .exclude(status=CustomerStatus.ERASED)
    )
    for record in [customer, *merged]:
        _blank(record, now, actor=actor, reason=reason)
    audit.record(
        actor,
        "customer.erased",
        customer,
        reason=reason,
        merged_records=len(merged),
    )
    return customer


# --------------------------------------------------------------------------- exports


@transaction.atomic
def log_export(actor: Actor, *, rows: int, kind: str = "customers", fmt: str = "csv") -> None:
    """Audit an export of the base: who, when, how many rows (never their content)."""
    permissions.require(actor, Perm.EXPORT_BASE, customer=True)
    audit.record(actor, f"{kind}.exported", object_type=kind, rows=rows, format=fmt)
