"""Message bodies: Markdown written by the owner, checked, rendered and sanitised.

No remote image and no script can get in (refused with a clear error, not silently dropped),
links are kept as written (never rewritten to count clicks), and the HTML is cleaned by nh3
(the Ammonia sanitizer) whatever the input. Nothing here can add a tracking pixel.
"""

from __future__ import annotations

import re
from typing import Any

import nh3
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from markdown_it import MarkdownIt

from cueillette.core.errors import ServiceError
from cueillette.core.mail import render_text
from cueillette.messaging.errors import Code

_md = MarkdownIt("commonmark", {"html": True, "linkify": False}).disable("image")

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "a", "ul", "ol", "li", "h2", "h3", "h4",
    "blockquote", "hr", "code", "pre",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_SCHEMES = {"https", "http", "mailto", "tel"}

_UNSAFE = re.compile(
    r"<\s*(script|iframe|object|embed|style|form|input|link|meta)\b|javascript\s*:|\bon[a-z]+\s*=",
    re.IGNORECASE,
)
_IMAGE = re.compile(r"!\[[^\]]*\]\(|<\s*img\b|<\s*picture\b|<\s*svg\b|url\s*\(", re.IGNORECASE)


def check_body(text: str, field: str = "body") -> None:
    """Refuse what a message must not carry: scripts and images (remote images track)."""
    if _UNSAFE.search(text):
        raise ServiceError(
            Code.UNSAFE_BODY,
            _("the message contains a script or active content: write plain text or Markdown"),
            field=field,
        )
    if _IMAGE.search(text):
        raise ServiceError(
            Code.REMOTE_IMAGE,
            _(
                "images are not allowed in messages: a remote image tells the sender who opened "
                "the message, and we never do that"
            ),
            field=field,
        )


def to_html(text: str) -> str:
    """Markdown to clean HTML (nh3 keeps only simple formatting and plain links)."""
    html = _md.render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener",
    )


def fill(text: str, values: dict[str, Any]) -> str:
    """Replace {first_name}-style placeholders; unknown ones stay as written."""

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(values[key]) if key in values else match.group(0)

    return re.sub(r"\{([a-z_]+)\}", sub, text or "")


def compose(
    *, subject: str, body: str, context: dict[str, Any], language: str
) -> tuple[str, str, str]:
    """The subject, text and HTML of an owner-written message, inside our email frame."""
    values = context.get("values", {})
    body = fill(body, values)
    ctx = {**context, "body_text": body, "body_html": to_html(body)}
    with translation.override(language):
        text = render_text("messaging/email/message.txt", ctx)
        html = render_to_string("messaging/email/message.html", ctx)
    return fill(subject, values).replace("\n", " ").strip(), text, html
