"""Building email: rendered in the recipient's language; every message goes through the send gate
(``cueillette.messaging.gate``), which decides, records why and delivers on commit.

A message about a business comes from that business: ``From: "Épicerie Voisine" <the sending
address>`` and ``Reply-To`` its contact address, so a customer who answers reaches the shop,
not a platform no-reply. Mail with no business behind it (a staff account's own confirmation)
keeps the platform's ``DEFAULT_FROM_EMAIL``.
"""

from __future__ import annotations

from collections.abc import Callable
from email.headerregistry import Address
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import translation

from cueillette.core.tenancy import current_org_or_none

if TYPE_CHECKING:
    from cueillette.core.models import Organization


def build_message(
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    reply_to: list[str] | None = None,
    from_email: str | None = None,
) -> EmailMultiAlternatives:
    """The email as it will leave (From, Reply-To, the text and HTML parts). Only the send gate
    (``cueillette.messaging.delivery``) hands it to the backend."""
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers=headers or {},
        reply_to=reply_to or None,
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message


def render_text(name: str, context: dict[str, Any]) -> str:
    """A plain-text template rendered WITHOUT HTML escaping (a subject or a text body is not
    HTML: "d'acupuncture" must not arrive as "d&#x27;acupuncture")."""
    backend_template: Any = get_template(name)
    return str(backend_template.template.render(Context(context, autoescape=False)))


def render_email(template: str, context: dict[str, Any], language: str) -> tuple[str, str, str]:
    """Render ``<template>_subject.txt``, ``<template>.txt`` (both unescaped: plain text) and
    ``<template>.html`` (escaped)."""
    ctx = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = render_text(f"{template}_subject.txt", ctx).strip().replace("\n", " ")
        text = render_text(f"{template}.txt", ctx)
        html = render_to_string(f"{template}.html", ctx)
    return subject, text, html


def sender_for(organization: Organization | None) -> str:
    """``"<business name>" <sending address>``: the platform's address (the one its mail
    server may send from), shown under the business's name. Non-ASCII names are encoded by
    Django when the message is built; quotes and commas in a name are quoted here."""
    default = str(settings.DEFAULT_FROM_EMAIL)
    if organization is None or not organization.name.strip():
        return default
    _name, address = parseaddr(default)
    if not address:
        return default
    name = " ".join(organization.name.split())  # no line breaks in a header
    return str(Address(display_name=name, addr_spec=address))


def reply_to_for(organization: Organization | None, explicit: str | None) -> str | None:
    """Who an answer reaches: the one asked for (an inviter), else the business's contact."""
    if explicit:
        return explicit
    if organization is not None and organization.contact_email:
        return str(organization.contact_email)
    return None


def send_templated(
    template: str,
    to: str,
    context: dict[str, Any],
    *,
    language: str = "fr",
    headers: dict[str, str] | None = None,
    reply_to: str | None = None,
    organization: Organization | None = None,
    kind: str = "",
    klass: str = "transactional",
    customer: Any = None,
    purposes: tuple[str, ...] = (),
    also: tuple[str, ...] = (),
    dedupe_key: str = "",
) -> Any:
    """Render now (in the recipient's language) and ask the send gate, which decides (consent,
    suppression, pressure cap), records why, and delivers after the transaction commits.

    The message comes from ``organization`` (by default the current one, if any).
    ``klass``: "transactional" (asked for just now: a confirmation, a magic link), "staff"
    (mail to the team), "service" or "marketing" (both need a consent for one of
    ``purposes``). Returns the gate's ``Delivery`` (its ``status`` says whether it goes out).
    """
    if _gate is None:  # pragma: no cover - messaging is an installed app
        raise RuntimeError("no send gate registered: the messaging app registers it")
    subject, text, html = render_email(template, context, language)
    org = organization if organization is not None else current_org_or_none()
    answer_to = reply_to_for(org, reply_to)
    return _gate(
        kind=kind or template.rsplit("/", 1)[-1],
        klass=klass,
        subject=subject,
        text=text,
        html=html,
        to=to,
        customer=customer,
        purposes=purposes,
        also=also,
        language=language,
        headers=headers,
        reply_to=[answer_to] if answer_to else None,
        dedupe_key=dedupe_key,
        extra={"from_email": sender_for(org)},
    )


# The send gate, registered by the messaging app (core imports no domain app): a function
# taking the message's fields as keywords and returning the gate's decision.
Gate = Callable[..., Any]
_gate: Gate | None = None


def register_gate(gate: Gate) -> Gate:
    """Make ``gate(**message fields)`` the one door every email goes through."""
    global _gate
    _gate = gate
    return gate
