"""Sending email: rendered in the recipient's language, sent by a background task on commit."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import translation
from django_tasks import task


@task(queue_name="emails")
def deliver_email(
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    reply_to: list[str] | None = None,
) -> None:
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers=headers or {},
        reply_to=reply_to or None,
    )
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


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


def send_templated(
    template: str,
    to: str,
    context: dict[str, Any],
    *,
    language: str = "fr",
    headers: dict[str, str] | None = None,
    reply_to: str | None = None,
) -> None:
    """Render now (in the recipient's language), deliver after the transaction commits."""
    subject, text, html = render_email(template, context, language)

    def enqueue() -> None:
        deliver_email.enqueue(
            to=[to],
            subject=subject,
            text=text,
            html=html,
            headers=headers,
            reply_to=[reply_to] if reply_to else None,
        )

    transaction.on_commit(enqueue)
