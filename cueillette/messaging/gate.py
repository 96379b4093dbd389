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
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from cueillette.core.tenancy import current_org, current_org_or_none
from cueillette.core.tokens import sign
from cueillette.customers.models import ConsentEvent
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
    return facts_for_many(
        [(customer, address, held_back, exclude_id)],
        klass=klass,
        channel=channel,
        purposes=purposes,
        also=also,
        kind=kind,
        now=now,
        settings_row=settings_row,
        at_send=at_send,
    )[0]


def facts_for_many(
    who: Sequence[tuple[Customer, str, bool, int | None]],
    *,
    klass: str,
    channel: str,
    purposes: tuple[str, ...],
    also: tuple[str, ...],
    kind: str,
    now: dt.datetime,
    settings_row: PressureSettings,
    at_send: bool = False,
) -> list[rules.Facts]:
    """:func:`facts_for` for many customers at once (``(customer, address, held_back,
    exclude_id)`` each), in a fixed handful of queries: the same facts, read the same way."""
    ids = [c.pk for c, _, _, _ in who]
    addresses = {normalise_address(channel, a) for _, a, _, _ in who if a}
    suppressed = dict(
        Suppression.objects.filter(channel=channel, address__in=addresses).values_list(
            "address", "reason"
        )
    )
    prefs = {
        cid: (fewer, until)
        for cid, fewer, until in Preference.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "fewer", "paused_until"
        )
    }
    excluded = [x for _, _, _, x in who if x is not None]
    recent: dict[int, int] = {}
    if klass in rules.CAPPED_CLASSES:
        since = now - dt.timedelta(days=settings_row.window_days)
        window = Q(status__in=OUT, sent_at__gt=since)
        if not at_send:
            window |= Q(status__in=(Status.QUEUED, Status.DEFERRED))
        rows = (
            Delivery.objects.filter(customer_id__in=ids, klass=MessageClass.MARKETING)
            .filter(window)
            .exclude(pk__in=excluded)
            .order_by()
            .values("customer_id")
            .annotate(n=Count("id"))
            .values_list("customer_id", "n")
        )
        recent = dict(rows)
    entries: dict[int, list[rules.Entry]] = {}
    for cid, pk, p, g, t, src in ConsentEvent.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "pk", "purpose", "granted", "occurred_at", "source"
    ):
        entries.setdefault(cid, []).append(rules.Entry(pk, p, g, t, src))
    enabled = switch_enabled(kind)
    quiet = rules.Quiet(settings_row.quiet_start, settings_row.quiet_end, current_org().timezone)
    out = []
    for customer, address, held, _ in who:
        fewer, until = prefs.get(customer.pk, (False, None))
        out.append(
            rules.Facts(
                klass=klass,
                channel=channel,
                now=now,
                has_address=bool(address),
                active=customer.is_active,
                enabled=enabled,
                suppression=suppressed.get(normalise_address(channel, address))
                if address
                else None,
                paused_until=until,
                consent=rules.consent_for(
                    entries.get(customer.pk, []), purposes, channel, now, also=also
                ),
                marketing_in_window=recent.get(customer.pk, 0),
                cap=rules.cap_for(settings_row.max_marketing, bool(fewer)),
                quiet=quiet,
                held_back=held,
            )
        )
    return out


def unsubscribe_token(delivery: Delivery) -> str:
    return sign(str(delivery.pk), UNSUBSCRIBE_SALT)


_TOKEN_SLOT = "TOKEN-SLOT"


@functools.lru_cache(maxsize=256)
def _unsubscribe_path(slug: str) -> str:
    # Resolved once per organization (a batch of thousands of links reverses nothing).
    return reverse("public:messaging_unsubscribe", kwargs={"slug": slug, "token": _TOKEN_SLOT})


def unsubscribe_url(delivery: Delivery, *, lang: str = "", token: str = "") -> str:
    org = current_org()
    path = _unsubscribe_path(org.slug).replace(
        _TOKEN_SLOT, quote(token or unsubscribe_token(delivery), safe=":")
    )
    query = f"?lang={lang}" if lang in ("fr", "en") and lang != org.language else ""
    return f"{settings.SITE_URL}{path}{query}"


def unsubscribe_headers(delivery: Delivery) -> dict[str, str]:
    """RFC 2369 + RFC 8058: an HTTPS link mail programs POST to in one click, and a mailto."""
    token = unsubscribe_token(delivery)
    mailto = getattr(settings, "MESSAGING_UNSUBSCRIBE_MAILTO", "") or _default_mailto()
    url = unsubscribe_url(delivery, lang=delivery.language, token=token)
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
                delivery = _new_delivery(msg, address, decision, now)
                delivery.save()
        except IntegrityError:
            # The same request raced us to the unique key: its decision stands.
            found = _existing(msg)
            if found is None:  # pragma: no cover - the constraint names the row that exists
                raise
            return found
        if decision.goes_out:
            delivery.payload = _payload(msg)
            delivery.save(update_fields=["payload"])
            if schedule:
                _schedule(delivery)
    return delivery


def _new_delivery(
    msg: Message, address: str, decision: rules.Decision, now: dt.datetime
) -> Delivery:
    """The decision's row, not saved yet."""
    return Delivery(
        organization=current_org(),
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


def _payload(msg: Message) -> dict[str, Any]:
    """What the hand-off sends. The delivery's own unsubscribe link and RFC 8058 headers are
    put in when it leaves (:func:`outgoing`): they need the row's key, and a batch is written
    in one insert."""
    return {
        "text": msg.text,
        "html": msg.html,
        "headers": dict(msg.headers or {}),
        "reply_to": msg.reply_to,
        "purposes": list(msg.purposes),
        "also": list(msg.also),
        **({"extra": msg.extra} if msg.extra else {}),
    }


def outgoing(delivery: Delivery) -> tuple[str, str | None, dict[str, str]]:
    """The text, HTML and headers that leave for ``delivery``: a message that is not
    transactional carries its own one-click unsubscribe (headers, and the link in the body
    where the author's text has :data:`UNSUBSCRIBE_PLACEHOLDER`)."""
    p = delivery.payload or {}
    text: str = p.get("text") or ""
    html: str | None = p.get("html")
    headers = dict(p.get("headers") or {})
    if delivery.klass not in rules.FREE_CLASSES and delivery.customer_id is not None:
        headers.update(unsubscribe_headers(delivery))
        link = headers["List-Unsubscribe"].split(">", 1)[0].lstrip("<")
        text = text.replace(UNSUBSCRIBE_PLACEHOLDER, link)
        html = html.replace(UNSUBSCRIBE_PLACEHOLDER, link) if html else html
    return text, html, headers


def request_campaign_batch(
    msgs: Sequence[Message], *, now: dt.datetime | None = None
) -> list[Delivery]:
    """:func:`request_message` for a batch of one campaign's messages (one per customer), in a
    fixed number of queries: the customers locked in key order, their facts read together
    (:func:`facts_for_many`), each judged by ``rules.decide``, the rows written in one insert.
    Who already has this campaign's decision keeps it (a rerun resumes where it stopped).
    Nothing is scheduled: the caller hands the queued ones to ``delivery`` in batches."""
    now = now or timezone.now()
    if not msgs:
        return []
    first = msgs[0]
    campaign = first.campaign
    if campaign is None or any(
        m.campaign is not campaign
        or m.customer is None
        or (m.klass, m.channel, m.kind, m.purposes, m.also)
        != (first.klass, first.channel, first.kind, first.purposes, first.also)
        for m in msgs
    ):
        raise ValueError("a batch is one campaign's messages to customers")
    from cueillette.customers.models import Customer

    with transaction.atomic():
        ids = sorted({m.customer.pk for m in msgs if m.customer is not None})
        # One customer's decisions are serialised (as _lock_customer does), in key order.
        list(Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
        done = set(
            Delivery.objects.filter(campaign=campaign, customer_id__in=ids).values_list(
                "customer_id", flat=True
            )
        )
        todo = [m for m in msgs if m.customer is not None and m.customer.pk not in done]
        if not todo:
            return []
        facts = facts_for_many(
            [(m.customer, _address(m), m.held_back, None) for m in todo if m.customer],
            klass=first.klass,
            channel=first.channel,
            purposes=first.purposes,
            also=first.also,
            kind=first.kind,
            now=now,
            settings_row=pressure(),
        )
        rows = []
        for m, f in zip(todo, facts, strict=True):
            d = _new_delivery(m, _address(m), rules.decide(f), now)
            if d.status in (Status.QUEUED, Status.DEFERRED):
                d.payload = _payload(m)
            rows.append(d)
        Delivery.objects.bulk_create(rows)
    return rows


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
    return recheck_many([delivery], now)[0]


def recheck_many(
    deliveries: Sequence[Delivery],
    now: dt.datetime,
    *,
    settings_row: PressureSettings | None = None,
) -> list[rules.Decision]:
    """:func:`recheck` for a batch (under the customers' locks), in order: a message claimed
    earlier in the batch counts towards the cap of the next one to the same customer.
    ``settings_row``: the organization's :func:`pressure` if the caller has read it."""
    decisions: dict[int, rules.Decision | rules.Facts] = {}
    groups: dict[tuple[Any, ...], list[Delivery]] = {}
    for d in deliveries:
        if d.klass in rules.FREE_CLASSES or d.customer is None:
            decisions[id(d)] = rules.decide(
                rules.Facts(klass=d.klass, channel=d.channel, now=now, has_address=bool(d.address))
            )
            continue
        payload = d.payload or {}
        purposes = tuple(payload.get("purposes") or ([d.purpose] if d.purpose else []))
        also = tuple(payload.get("also") or ())
        groups.setdefault((d.klass, d.channel, d.kind, purposes, also), []).append(d)
    if groups and settings_row is None:
        settings_row = pressure()
    for (klass, channel, kind, purposes, also), group in groups.items():
        assert settings_row is not None
        facts = facts_for_many(
            [(d.customer, d.address, False, d.pk) for d in group if d.customer is not None],
            klass=klass,
            channel=channel,
            purposes=purposes,
            also=also,
            kind=kind,
            now=now,
            settings_row=settings_row,
            at_send=True,
        )
        for d, f in zip(group, facts, strict=True):
            decisions[id(d)] = f
    out: list[rules.Decision] = []
    claimed: dict[int, int] = {}  # customer -> marketing claimed in this batch
    for d in deliveries:
        fact_or_decision = decisions[id(d)]
        if isinstance(fact_or_decision, rules.Decision):
            out.append(fact_or_decision)
            continue
        known = fact_or_decision
        if d.customer_id in claimed:
            known = replace(
                known, marketing_in_window=known.marketing_in_window + claimed[d.customer_id]
            )
        decision = rules.decide(known)
        if decision.status == Status.DEFERRED and d.send_after and d.send_after <= now:
            # Already moved once and due: a clock edge must not defer it forever.
            decision = rules.Decision(Status.QUEUED, Reason.ALLOWED, decision.entry)
        if decision.status == Status.QUEUED and d.klass in rules.CAPPED_CLASSES:
            assert d.customer_id is not None
            claimed[d.customer_id] = claimed.get(d.customer_id, 0) + 1
        out.append(decision)
    return out
