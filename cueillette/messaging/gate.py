"""The send gate: the one door every message (campaign, automatic message, notification,
survey, staff mail) goes through.

:func:`request_message` gathers the facts at the time of the request (the consent ledger, the
suppression list, the customer's pause, the marketing messages of the window, quiet hours),
asks :func:`cueillette.messaging.rules.decide`, and records the decision as a
:class:`~cueillette.messaging.models.Delivery` row (sent or refused, with its reason and the
consent entry that allowed it). Allowed messages are handed to ``delivery.deliver`` after the
transaction commits; ``delivery`` decides again at send time (:func:`recheck`), so a consent
withdrawn, a bounce or a cap reached in between stops it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from cueillette.core.tenancy import current_org, current_org_or_none
from cueillette.core.tokens import sign
from cueillette.messaging import rules
from cueillette.messaging.models import (
    AutomaticMessage,
    Channel,
    Delivery,
    MessageClass,
    Preference,
    PressureSettings,
    Reason,
    Status,
    Suppression,
)

if TYPE_CHECKING:  # pragma: no cover
    from cueillette.customers.models import Customer
    from cueillette.messaging.models import Campaign

UNSUBSCRIBE_SALT = "messaging.unsubscribe"
# An old email's link must still stop the next ones.
UNSUBSCRIBE_MAX_AGE = 5 * 365 * 24 * 3600
# Bodies written before the decision put this where the delivery's own unsubscribe link goes.
UNSUBSCRIBE_PLACEHOLDER = "https://unsubscribe.invalid/"
PENDING = (Status.QUEUED, Status.DEFERRED, Status.SENDING)
OUT = (Status.SENDING, Status.SENT)


@dataclass
class Message:
    """A request to the gate. ``purposes``: any one granted allows it; ``also``: each needed."""

    kind: str
    klass: str
    subject: str = ""
    text: str = ""
    html: str | None = None
    to: str = ""
    customer: Customer | None = None
    purposes: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    channel: str = Channel.EMAIL
    language: str = "fr"
    headers: dict[str, str] | None = None
    reply_to: list[str] | None = None
    campaign: Campaign | None = None
    dedupe_key: str = ""
    held_back: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def pressure() -> PressureSettings:
    """The current organization's settings (defaults until the owner saves them)."""
    row = PressureSettings.objects.first()
    return row if row is not None else PressureSettings(organization=current_org())


def switch_enabled(kind: str) -> bool:
    from cueillette.messaging.automatic import KINDS

    if kind not in KINDS:
        return True
    row = AutomaticMessage.objects.filter(kind=kind).first()
    return KINDS[kind].default_on if row is None else row.enabled


def normalise_address(channel: str, address: str) -> str:
    return address.strip().lower() if channel == Channel.EMAIL else address.strip()


def entries_of(customer: Customer) -> list[rules.Entry]:
    return [
        rules.Entry(id=pk, purpose=p, granted=g, occurred_at=t, source=s)
        for pk, p, g, t, s in customer.consent_events.values_list(
            "pk", "purpose", "granted", "occurred_at", "source"
        )
    ]


def _address(msg: Message) -> str:
    if msg.to:
        return msg.to
    if msg.customer is None:
        return ""
    return (msg.customer.email if msg.channel == Channel.EMAIL else msg.customer.phone) or ""


def _lock_customer(customer: Customer) -> None:
    # One customer's decisions are serialised: two sends at once cannot both see "1 of 2".
    type(customer).objects.select_for_update().filter(pk=customer.pk).first()


def facts_for(
    *,
    klass: str,
    channel: str,
    address: str,
    customer: Customer | None,
    purposes: tuple[str, ...],
    also: tuple[str, ...],
    kind: str,
    now: dt.datetime,
    settings_row: PressureSettings,
    exclude_id: int | None = None,
    at_send: bool = False,
    held_back: bool = False,
) -> rules.Facts:
    """The facts :func:`rules.decide` judges, read from the database at ``now``.

    At request time pending messages count towards the cap (they will go out); at send time
    (``at_send``) only what went out does, each message checking the window behind it."""
    if klass in rules.FREE_CLASSES or customer is None:
        return rules.Facts(
            klass=klass,
            channel=channel,
            now=now,
            has_address=bool(address),
            enabled=switch_enabled(kind),
        )
    suppression = (
        Suppression.objects.filter(channel=channel, address=normalise_address(channel, address))
        .values_list("reason", flat=True)
        .first()
    )
    pref = Preference.objects.filter(customer=customer).first()
    in_window = 0
    if klass in rules.CAPPED_CLASSES:
        since = now - dt.timedelta(days=settings_row.window_days)
        recent = Delivery.objects.filter(customer=customer, klass=MessageClass.MARKETING)
        if exclude_id is not None:
            recent = recent.exclude(pk=exclude_id)
        in_window = recent.filter(status__in=OUT, sent_at__gt=since).count()
        if not at_send:
            in_window += recent.filter(status__in=(Status.QUEUED, Status.DEFERRED)).count()
    org = current_org()
    return rules.Facts(
        klass=klass,
        channel=channel,
        now=now,
        has_address=bool(address),
        active=customer.is_active,
        enabled=switch_enabled(kind),
        suppression=suppression,
        paused_until=pref.paused_until if pref else None,
        consent=rules.consent_for(entries_of(customer), purposes, channel, now, also=also),
        marketing_in_window=in_window,
        cap=rules.cap_for(settings_row.max_marketing, bool(pref and pref.fewer)),
        quiet=rules.Quiet(settings_row.quiet_start, settings_row.quiet_end, org.timezone),
        held_back=held_back,
    )


def unsubscribe_token(delivery: Delivery) -> str:
    return sign(str(delivery.pk), UNSUBSCRIBE_SALT)


def unsubscribe_url(delivery: Delivery, *, lang: str = "") -> str:
    org = current_org()
    path = reverse(
        "public:messaging_unsubscribe",
        kwargs={"slug": org.slug, "token": unsubscribe_token(delivery)},
    )
    query = f"?lang={lang}" if lang in ("fr", "en") and lang != org.language else ""
    return f"{settings.SITE_URL}{path}{query}"


def unsubscribe_headers(delivery: Delivery) -> dict[str, str]:
    """RFC 2369 + RFC 8058: an HTTPS link mail programs POST to in one click, and a mailto."""
    token = unsubscribe_token(delivery)
    mailto = getattr(settings, "MESSAGING_UNSUBSCRIBE_MAILTO", "") or _default_mailto()
    url = unsubscribe_url(delivery, lang=delivery.language)
    return {
        "List-Unsubscribe": f"<{url}>, <mailto:{mailto}?subject={quote('unsubscribe ' + token)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _default_mailto() -> str:
    sender = str(settings.DEFAULT_FROM_EMAIL)
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "localhost"
    return f"unsubscribe@{domain}"


def request_message(
    msg: Message, *, now: dt.datetime | None = None, schedule: bool = True
) -> Delivery:
    """Decide on one message, record the decision, and deliver it after commit if allowed.

    The same ``dedupe_key`` (or the same campaign and customer) twice returns the first
    decision: a retried task or a double click sends nothing twice."""
    now = now or timezone.now()
    if current_org_or_none() is None:
        return _outside_any_organization(msg, now)
    with transaction.atomic():
        existing = _existing(msg)
        if existing is not None:
            return existing
        if msg.customer is not None and msg.klass not in rules.FREE_CLASSES:
            _lock_customer(msg.customer)
        address = _address(msg)
        settings_row = pressure()
        facts = facts_for(
            klass=msg.klass,
            channel=msg.channel,
            address=address,
            customer=msg.customer,
            purposes=msg.purposes,
            also=msg.also,
            kind=msg.kind,
            now=now,
            settings_row=settings_row,
            held_back=msg.held_back,
        )
        decision = rules.decide(facts)
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(
                    customer=msg.customer,
                    campaign=msg.campaign,
                    kind=msg.kind[:40],
                    klass=msg.klass,
                    channel=msg.channel,
                    purpose=(decision.entry.purpose if decision.entry else "")
                    or (msg.purposes[0] if msg.purposes else ""),
                    address=address[:254],
                    language=msg.language if msg.language in ("fr", "en") else "fr",
                    subject=msg.subject[:300],
                    status=decision.status,
                    reason=decision.reason,
                    consent_event_id=decision.entry.id if decision.entry else None,
                    decided_at=now,
                    send_after=decision.send_after,
                    dedupe_key=msg.dedupe_key[:120],
                )
        except IntegrityError:
            # The same request raced us to the unique key: its decision stands.
            found = _existing(msg)
            if found is None:  # pragma: no cover - the constraint names the row that exists
                raise
            return found
        if decision.goes_out:
            headers = dict(msg.headers or {})
            if msg.klass not in rules.FREE_CLASSES and msg.customer is not None:
                headers.update(unsubscribe_headers(delivery))
            text, html = msg.text, msg.html
            if msg.klass not in rules.FREE_CLASSES and msg.customer is not None:
                link = unsubscribe_url(delivery, lang=delivery.language)
                text = text.replace(UNSUBSCRIBE_PLACEHOLDER, link)
                html = html.replace(UNSUBSCRIBE_PLACEHOLDER, link) if html else html
            delivery.payload = {
                "text": text,
                "html": html,
                "headers": headers,
                "reply_to": msg.reply_to,
                "purposes": list(msg.purposes),
                "also": list(msg.also),
                **({"extra": msg.extra} if msg.extra else {}),
            }
            delivery.save(update_fields=["payload"])
            if schedule:
                _schedule(delivery)
    return delivery


def _outside_any_organization(msg: Message, now: dt.datetime) -> Delivery:
    """Staff mail before any business exists (sign-up confirmation, password reset): the gate
    still decides (an address is all a staff message needs) but has no organization's log to
    write to, so the returned decision is not saved. Customer messages always have one."""
    if msg.klass not in rules.FREE_CLASSES or msg.customer is not None:
        raise ValueError("a message to a customer is always sent within its organization")
    decision = rules.decide(
        rules.Facts(klass=msg.klass, channel=msg.channel, now=now, has_address=bool(msg.to))
    )
    if decision.goes_out:
        from cueillette.messaging import delivery as sending

        sending.deliver_unlogged_on_commit(
            to=msg.to,
            subject=msg.subject,
            text=msg.text,
            html=msg.html,
            headers=msg.headers,
            reply_to=msg.reply_to,
        )
    return Delivery(
        kind=msg.kind[:40],
        klass=msg.klass,
        channel=msg.channel,
        address=msg.to,
        subject=msg.subject[:300],
        status=decision.status,
        reason=decision.reason,
        decided_at=now,
    )


def _existing(msg: Message) -> Delivery | None:
    if msg.campaign is not None and msg.customer is not None:
        return Delivery.objects.filter(campaign=msg.campaign, customer=msg.customer).first()
    if msg.dedupe_key:
        return Delivery.objects.filter(dedupe_key=msg.dedupe_key[:120]).first()
    return None


def _schedule(delivery: Delivery) -> None:
    from cueillette.messaging import delivery as sending

    if delivery.status == Status.QUEUED:
        sending.deliver_on_commit([delivery.pk])
    elif delivery.status == Status.DEFERRED and delivery.send_after is not None:
        sending.deliver_on_commit([delivery.pk], run_after=delivery.send_after)


def recheck(delivery: Delivery, now: dt.datetime) -> rules.Decision:
    """The decision again, at send time (call under the customer's lock)."""
    if delivery.klass in rules.FREE_CLASSES or delivery.customer is None:
        return rules.decide(
            rules.Facts(
                klass=delivery.klass,
                channel=delivery.channel,
                now=now,
                has_address=bool(delivery.address),
            )
        )
    payload = delivery.payload or {}
    purposes = tuple(payload.get("purposes") or ([delivery.purpose] if delivery.purpose else []))
    also = tuple(payload.get("also") or ())
    facts = facts_for(
        klass=delivery.klass,
        channel=delivery.channel,
        address=delivery.address,
        customer=delivery.customer,
        purposes=purposes,
        also=also,
        kind=delivery.kind,
        now=now,
        settings_row=pressure(),
        exclude_id=delivery.pk,
        at_send=True,
    )
    decision = rules.decide(facts)
    if decision.status == Status.DEFERRED and delivery.send_after and delivery.send_after <= now:
        # Already moved once and due: a clock edge must not defer it forever.
        return rules.Decision(Status.QUEUED, Reason.ALLOWED, decision.entry)
    return decision
