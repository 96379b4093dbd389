"""Bounces and complaints: delivery status notifications (RFC 3464) read from a mailbox with
Python's :mod:`mailbox`, spam complaints (RFC 5965 feedback reports), mailto unsubscribes
(the second address of ``List-Unsubscribe``), and a provider's webhook.

A hard bounce (``Action: failed`` with a ``5.x.x`` status) or a complaint suppresses the
address in the organization that sent the message, found from our ``Message-ID``
(``<cueillette.<organization>.<delivery>@...>``, see ``delivery.message_id``); a soft bounce
(``4.x.x``, delayed) is only counted. ``manage.py process_bounces <mailbox>`` runs it.
"""

from __future__ import annotations

import email
import hmac
import json
import mailbox
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.messaging.models import Delivery, SuppressionReason

MESSAGE_ID = re.compile(r"<cueillette\.(\d+)\.(\d+)@[^>]+>")
ACTOR = Actor.system("bounces")


@dataclass(frozen=True)
class Event:
    kind: str  # "hard_bounce" | "soft_bounce" | "complaint" | "unsubscribe"
    address: str
    message_id: str = ""
    status: str = ""
    token: str = ""


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    inner = part.get_payload()
    if isinstance(inner, list):  # message/delivery-status parsed as header blocks
        return "\n\n".join(str(p) for p in inner)
    return str(inner or "")


def _original_id(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() in (
            "message/rfc822",
            "text/rfc822-headers",
            "message/rfc822-headers",
        ):
            found = MESSAGE_ID.search(
                _text(part) if part.get_content_type().startswith("text") else str(part)
            )
            if found:
                return found.group(0)
    found = MESSAGE_ID.search(str(msg))
    return found.group(0) if found else ""


def _fields(block: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


def parse(msg: Message) -> list[Event]:
    """The events one incoming message carries (none for ordinary mail)."""
    subject = str(msg.get("Subject", ""))
    if subject.lower().startswith("unsubscribe "):
        return [
            Event("unsubscribe", str(msg.get("From", "")), token=subject.split(None, 1)[1].strip())
        ]
    ctype = msg.get_content_type()
    report = (msg.get_param("report-type") or "") if ctype == "multipart/report" else ""
    original = _original_id(msg)
    events: list[Event] = []
    if str(report).lower() == "feedback-report":
        for part in msg.walk():
            if part.get_content_type() == "message/feedback-report":
                f = _fields(_text(part))
                address = f.get("original-rcpt-to", "")
                events.append(Event("complaint", address.strip("<>"), original))
        return events
    if str(report).lower() != "delivery-status":
        return events
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = re.split(r"\n\s*\n", _text(part).replace("\r\n", "\n"))
        for block in blocks[1:] or blocks:  # the first block is per-message
            f = _fields(block)
            recipient = f.get("final-recipient") or f.get("original-recipient") or ""
            address = recipient.split(";", 1)[-1].strip().strip("<>")
            if not address:
                continue
            status, action = f.get("status", ""), f.get("action", "").lower()
            hard = action == "failed" and status.startswith("5")
            events.append(
                Event("hard_bounce" if hard else "soft_bounce", address, original, status)
            )
    return events


def _organization(event: Event) -> tuple[Organization | None, Delivery | None]:
    found = MESSAGE_ID.search(event.message_id or "")
    if not found:
        return None, None
    org = Organization.objects.filter(pk=int(found.group(1))).first()
    if org is None:
        return None, None
    with tenant_context(org):
        return org, Delivery.objects.filter(pk=int(found.group(2))).first()


def apply(events: Iterable[Event]) -> Counter[str]:
    """Suppress hard bounces and complaints; unsubscribe mailto requests; count the rest."""
    from cueillette.messaging import services

    counts: Counter[str] = Counter()
    for event in events:
        if event.kind == "unsubscribe":
            counts[_mailto_unsubscribe(event)] += 1
            continue
        if event.kind == "soft_bounce":
            counts["soft_bounce"] += 1
            continue
        org, sent = _organization(event)
        if org is None:
            counts["unknown"] += 1
            continue
        reason = (
            SuppressionReason.COMPLAINT
            if event.kind == "complaint"
            else SuppressionReason.HARD_BOUNCE
        )
        address = event.address or (sent.address if sent else "")
        with tenant_context(org):
            services.suppress(address, reason, detail=event.status or event.kind, actor=ACTOR)
        counts[event.kind] += 1
    return counts


def _mailto_unsubscribe(event: Event) -> str:
    from cueillette.core.tokens import unsign
    from cueillette.messaging import gate, services

    try:
        pk = int(unsign(event.token, gate.UNSUBSCRIBE_SALT, gate.UNSUBSCRIBE_MAX_AGE))
    except Exception:
        return "unknown"
    # The token names a delivery; its organization is found across all of them on purpose.
    d = Delivery.objects.unscoped().filter(pk=pk).select_related("organization").first()
    if d is None:
        return "unknown"
    with tenant_context(d.organization):
        services.unsubscribe(Delivery.objects.get(pk=pk), "stop")
    return "unsubscribe"


def process_mailbox(path: str | Path) -> Counter[str]:
    """Read every message of an mbox file or a Maildir folder once (read messages are removed)."""
    path = Path(path)
    box: mailbox.Mailbox[Any] = (
        mailbox.Maildir(path, create=False) if path.is_dir() else mailbox.mbox(path)
    )
    counts: Counter[str] = Counter()
    box.lock()
    try:
        for key in list(box.keys()):
            raw = box.get_bytes(key)
            counts.update(apply(parse(email.message_from_bytes(raw))))
            box.remove(key)
        box.flush()
    finally:
        box.unlock()
        box.close()
    return counts


@csrf_exempt  # a provider's server posts here; the shared secret is the capability
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    """``{"events": [{"type": "bounce"|"complaint", "email", "message_id", "hard": true}]}``
    with the header ``X-Cueillette-Secret: <MESSAGING_WEBHOOK_SECRET>``."""
    secret = getattr(settings, "MESSAGING_WEBHOOK_SECRET", "")
    given = request.headers.get("X-Cueillette-Secret", "")
    if not secret or not hmac.compare_digest(secret, given):
        # Like a wrong token in a capability link: nothing is here for whoever lacks it.
        return JsonResponse(
            {"error": {"code": "not_found", "field": None, "message": "not found"}}, status=404
        )
    try:
        body = json.loads(request.body or b"{}")
        items = body.get("events") or []
    except (ValueError, AttributeError):
        return JsonResponse(
            {"error": {"code": "invalid", "field": "events", "message": "JSON expected"}},
            status=400,
        )
    events = []
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = (
            "complaint"
            if item.get("type") == "complaint"
            else ("hard_bounce" if item.get("hard", True) else "soft_bounce")
        )
        events.append(Event(kind, str(item.get("email", "")), str(item.get("message_id", ""))))
    return JsonResponse({"counts": dict(apply(events))})
