"""The customer's own space ("portal" means that, and only that): joining, magic links,
self-export, and the space's "erase my data" (the erasure itself is
``services.erase_customer``, the same action for the staff and the retention task).

Every function here runs inside the organization's tenant context (``@public_org`` for pages,
``tenant_context`` for tasks) and follows the house rules of ``services.py``: atomic, audited
without personal data, emails sent on commit.

Magic links: a random token is emailed; only its SHA-256 is stored (:class:`AccessToken`). It
expires after :data:`PORTAL_TOKEN_MAX_AGE` seconds and works once. Opening the link only shows a
button; the POST of that button consumes the token, so a mail scanner that follows links
cannot burn it. The open space lives in the session for :data:`PORTAL_SESSION_AGE` seconds.

Erasure (``services.erase_customer``): personal fields are blanked at once, tokens and pending
email confirmations (which hold the address) are deleted; the consent ledger and the audit log
stay, since they hold no personal data (the customer acts as "customer" / "join page", never by
name), so aggregates ("how many people agreed to news in March") survive without an identity.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _

from cueillette.core import audit
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.mail import send_templated
from cueillette.core.models import AuditEvent
from cueillette.core.tenancy import current_org
from cueillette.core.tokens import hash_token, new_token
from cueillette.customers import services
from cueillette.customers.errors import Code
from cueillette.customers.models import (
    AccessToken,
    ConsentEvent,
    ConsentWording,
    Customer,
    CustomerStatus,
    EmailConfirmation,
    Source,
)
from cueillette.customers.normalize import normalize_email

PORTAL_TOKEN_MAX_AGE = 3600  # a magic link works for one hour, once
PORTAL_SESSION_AGE = 2 * 3600  # an opened space stays open two hours
PORTAL_ACTOR_LABEL = "customer space"
JOIN_ACTOR_LABEL = "join page"

# Apps holding data about a customer add files to the self-export: ``func(customer)`` returns
# {file name: content}. (Apps acting on a consent or an erasure subscribe to
# ``Consequence.CONSENT_CHANGED`` / ``CUSTOMER_ERASED`` instead: every door fires those.)
_EXPORTERS: list[Callable[[Customer], Mapping[str, bytes]]] = []


def register_exporter(
    func: Callable[[Customer], Mapping[str, bytes]],
) -> Callable[[Customer], Mapping[str, bytes]]:
    """Register ``func(customer)`` adding files to the customer's data export zip."""
    if func not in _EXPORTERS:
        _EXPORTERS.append(func)
    return func


def portal_actor() -> Actor:
    return Actor.customer(PORTAL_ACTOR_LABEL)


# --------------------------------------------------------------------------- joining


@dataclass(frozen=True)
class JoinResult:
    """What happened, for the code; the visitor sees the same page either way."""

    customer: Customer | None
    existing: bool


@transaction.atomic
def join(
    data: services.CustomerInput,
    consents: Mapping[str, ConsentWording],
    *,
    language: str,
) -> JoinResult:
    """Register a visitor of the join page with the consents they ticked (nothing else).

    ``consents`` maps each ticked purpose to the wording shown on the page, so the ledger ties
    the decision to the exact text the person read. If the email already belongs to a customer
    of this organization, nothing is changed (anyone can type an address): that customer is
    emailed a link to their space, where they can change their choices themselves.
    """
    email = normalize_email(str(data.email or ""))
    if email:
        existing = Customer.objects.filter(email=email, status=CustomerStatus.ACTIVE).first()
        if existing is not None:
            send_portal_link(existing, reason="join_existing")
            return JoinResult(customer=existing, existing=True)
    actor = Actor.customer(JOIN_ACTOR_LABEL)
    customer = services.create_customer(
        dataclasses.replace(data, language=language), actor=actor, source=Source.JOIN_PAGE
    )
    for purpose, wording in consents.items():
        services.record_consent(
            customer,
            purpose,
            True,
            source=Source.JOIN_PAGE,
            actor=actor,
            language=language,
            wording=wording,
        )
    return JoinResult(customer=customer, existing=False)


@transaction.atomic
def change_consent(
    customer: Customer,
    purpose: str,
    granted: bool,
    *,
    language: str,
    wording: ConsentWording | None = None,
) -> ConsentEvent | EmailConfirmation | None:
    """A one-click choice in the customer's space (other apps hear it through CONSENT_CHANGED)."""
    return services.record_consent(
        customer,
        purpose,
        granted,
        source=Source.PORTAL,
        actor=portal_actor(),
        language=language,
        wording=wording,
    )


# --------------------------------------------------------------------------- magic links


MAX_NEXT_LENGTH = 500


def safe_next(org_slug: str, value: object) -> str:
    """``value`` if it is a path of this organization's public pages (``/o/<slug>/...``), else "".

    Where a magic link may bring the customer back after opening their space: never another
    site (no scheme, no host, no ``//``, no backslash) nor another organization's pages.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT_LENGTH:
        return ""
    if "\\" in value or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return ""
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=None):
        return ""
    if not value.startswith(f"/o/{org_slug}/") or value.startswith("//"):
        return ""
    path = value.split("?", 1)[0].split("#", 1)[0]
    # Browsers resolve "." and ".." segments, percent-encoded ones too ("%2e%2e").
    if "%2e" in path.lower() or any(part in (".", "..") for part in path.split("/")):
        return ""
    return value


def send_portal_link(customer: Customer, *, reason: str = "request", next_path: str = "") -> None:
    """Email the customer a single-use link to their space (expires in one hour).

    ``next_path``: a page of this organization to show once the space is open (ignored
    unless :func:`safe_next` accepts it).
    """
    if not customer.email or not customer.is_active:
        return
    raw = new_token()
    AccessToken.objects.create(
        customer=customer,
        token_hash=hash_token(raw),
        expires_at=timezone.now() + dt.timedelta(seconds=PORTAL_TOKEN_MAX_AGE),
    )
    org = current_org()
    url = settings.SITE_URL + reverse("public:portal_open", kwargs={"slug": org.slug, "token": raw})
    next_path = safe_next(org.slug, next_path)
    if next_path:
        url += "?" + urlencode({"next": next_path})
    send_templated(
        "public/email/portal_link",
        customer.email,
        {
            "organization": org,
            "customer": customer,
            "url": url,
            "minutes": PORTAL_TOKEN_MAX_AGE // 60,
            "already_registered": reason == "join_existing",
        },
        language=customer.language,
        kind="portal_link",  # a magic link: transactional
        customer=customer,
    )
    audit.record(portal_actor(), "customer.portal_link_sent", customer, reason=reason)


@transaction.atomic
def request_portal_link(email: str, next_path: str = "") -> bool:
    """Send a magic link if ``email`` is a customer's; the caller answers the same either way.

    ``next_path``: see :func:`send_portal_link`. Returns whether a link was sent (for tests and
    logs, never for the visitor).
    """
    try:
        address = normalize_email(email)
    except ServiceError:
        return False
    if not address:
        return False
    customer = Customer.objects.filter(email=address, status=CustomerStatus.ACTIVE).first()
    if customer is None:
        return False
    send_portal_link(customer, next_path=next_path)
    return True


def portal_token(raw: str) -> AccessToken:
    """The token behind a magic link, or a ServiceError saying why it cannot be used."""
    if not raw or len(raw) > 200:
        raise ServiceError(Code.TOKEN_INVALID, _("this link is not valid"))
    token = (
        AccessToken.objects.select_related("customer")
        .filter(token_hash=hash_token(raw), purpose="portal")
        .first()
    )
    if token is None or not token.customer.is_active:
        raise ServiceError(Code.TOKEN_INVALID, _("this link is not valid"))
    if token.used_at is not None:
        raise ServiceError(Code.TOKEN_USED, _("this link has already been used"), status=410)
    if token.expires_at < timezone.now():
        raise ServiceError(Code.TOKEN_EXPIRED, _("this link has expired"), status=410)
    return token


@transaction.atomic
def open_portal(raw: str) -> Customer:
    """Consume a magic link (the button's POST) and return the customer whose space opens."""
    token = portal_token(raw)
    now = timezone.now()
    # Single use even under two concurrent clicks: only one UPDATE flips used_at.
    flipped = AccessToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=now)
    if not flipped:
        raise ServiceError(Code.TOKEN_USED, _("this link has already been used"), status=410)
    customer = token.customer
    services.touch_activity(customer, now)
    audit.record(portal_actor(), "customer.portal_opened", customer)
    return customer


# --------------------------------------------------------------------------- what we hold


def audit_rows(customer: Customer) -> list[AuditEvent]:
    """Audit rows about this customer (and records merged into it), oldest first."""
    ids = [str(pk) for pk in services.history_ids(customer)]
    return list(
        AuditEvent.objects.filter(object_type="customer", object_id__in=ids).order_by(
            "created_at", "id"
        )
    )


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def profile_dict(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.pk,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "postal_code": customer.postal_code,
        "language": customer.language,
        "birthday": _iso(customer.birthday),
        "notes": customer.notes,
        "tags": list(customer.tags or []),
        "heard_from": customer.heard_from,
        "heard_from_detail": customer.heard_from_detail,
        "source": customer.source,
        "status": customer.status,
        "created_at": _iso(customer.created_at),
        "updated_at": _iso(customer.updated_at),
        "last_activity_at": _iso(customer.last_activity_at),
    }


def consent_dict(event: ConsentEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "occurred_at": _iso(event.occurred_at),
        "purpose": event.purpose,
        "channel": event.channel,
        "decision": "given" if event.granted else "withdrawn",
        "source": event.source,
        "wording_version": event.wording.version,
        "wording_language": event.wording.language,
        "wording_text": event.wording.text,
        "wording_hash": event.wording_hash,
        "evidence": event.evidence,
    }


def export_data(customer: Customer) -> dict[str, Any]:
    """Everything held about the customer, as JSON-ready data.

    Audit rows keep what happened and the kind of actor, never the staff member's name:
    the export holds this person's data, not other people's.
    """
    from cueillette.customers import queries

    org = current_org()
    events = queries.ledger(services.history_ids(customer))
    return {
        "organization": {"name": org.name, "address": f"{settings.SITE_URL}/o/{org.slug}/"},
        "exported_at": timezone.now().isoformat(),
        "profile": profile_dict(customer),
        "consents": [consent_dict(e) for e in reversed(events)],
        "history": [
            {
                "at": _iso(row.created_at),
                "action": row.action,
                "by": row.actor_kind,
                "details": row.data,
            }
            for row in audit_rows(customer)
        ],
    }


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    from cueillette.customers.export import DELIMITER, safe_cell

    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=DELIMITER)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    # A byte-order mark so spreadsheets read the accents.
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


@transaction.atomic
def export_zip(customer: Customer) -> bytes:
    """A zip of ``data.json`` (everything), ``profile.csv`` and ``consents.csv``; audited."""
    if not customer.is_active:
        raise ServiceError(Code.CUSTOMER_INACTIVE, _("this customer record is no longer active"))
    data = export_data(customer)
    profile = data["profile"]
    profile_rows = [
        [name, ", ".join(value) if isinstance(value, list) else value]
        for name, value in profile.items()
    ]
    consent_header = [
        "occurred_at",
        "purpose",
        "decision",
        "source",
        "wording_version",
        "wording_language",
        "wording_text",
        "wording_hash",
    ]
    consent_rows = [[c[name] for name in consent_header] for c in data["consents"]]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        archive.writestr("profile.csv", _csv(["field", "value"], profile_rows))
        archive.writestr("consents.csv", _csv(consent_header, consent_rows))
        for exporter in _EXPORTERS:
            for name, content in exporter(customer).items():
                archive.writestr(name, content)
    audit.record(portal_actor(), "customer.exported_by_self", customer, formats=["json", "csv"])
    return buf.getvalue()


# Erasure is a customer action whatever the door (the space, the staff, retention): it lives
# in services.py; the space's "erase my data" button calls it under this name too.
erase_customer = services.erase_customer
ERASE_REASONS = services.ERASE_REASONS
