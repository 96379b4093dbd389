"""The activity log's words for webhooks (registered from the app's ready())."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from cueillette.core import audit_words
from cueillette.core.audit_words import generic, words


def _events(value: Any) -> str:
    return ", ".join(str(v) for v in value or []) or "—"


def _by(value: Any) -> str:
    return str(gettext_lazy("the owner")) if value == "owner" else str(value)


def register() -> None:
    labels = audit_words.KEY_LABELS
    labels.setdefault("events", (gettext_lazy("events"), _events))
    labels.setdefault("failures", (gettext_lazy("failures in a row"), str))
    labels.setdefault("by", (gettext_lazy("by"), _by))
    labels.setdefault("waiting", (gettext_lazy("events waiting"), str))
    labels.setdefault("original", (gettext_lazy("first delivery"), lambda v: f"#{v}"))
    words("webhooks.endpoint_created", gettext_lazy("Webhook added"), generic)
    words("webhooks.endpoint_updated", gettext_lazy("Webhook events changed"), generic)
    words("webhooks.secret_rotated", gettext_lazy("Webhook secret renewed"), generic)
    words("webhooks.endpoint_paused", gettext_lazy("Webhook paused"), generic)
    words("webhooks.endpoint_resumed", gettext_lazy("Webhook resumed"), generic)
    words("webhooks.endpoint_removed", gettext_lazy("Webhook removed"), generic)
    words("webhooks.delivery_replayed", gettext_lazy("Webhook event sent again"), generic)
