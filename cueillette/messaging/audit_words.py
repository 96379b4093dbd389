"""The activity log's words for messaging's actions (registered in ``AppConfig.ready``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from cueillette.core import audit_words as w


def _choice(value: Any) -> str:
    labels = {
        "stop": gettext_lazy("unsubscribed from these messages"),
        "all": gettext_lazy("stopped every message"),
        "fewer": gettext_lazy("fewer messages"),
        "pause": gettext_lazy("paused for 3 months"),
    }
    return str(labels.get(str(value), value))


def register() -> None:
    w.KEY_LABELS.setdefault("delivery", (gettext_lazy("from the message"), lambda v: f"#{v}"))
    w.KEY_LABELS.setdefault("choice", (gettext_lazy("choice"), _choice))
    w.KEY_LABELS.setdefault("at", (gettext_lazy("at"), str))
    w.KEY_LABELS.setdefault("versions", (gettext_lazy("languages sent"), str))
    w.KEY_LABELS.setdefault("max", (gettext_lazy("marketing messages at most"), str))
    w.KEY_LABELS.setdefault("enabled", (gettext_lazy("switched on"), w.yes_no))
    for action, label in (
        ("messaging.segment_created", gettext_lazy("Segment created")),
        ("messaging.segment_changed", gettext_lazy("Segment changed")),
        ("messaging.campaign_created", gettext_lazy("Campaign created")),
        ("messaging.campaign_changed", gettext_lazy("Campaign changed")),
        ("messaging.campaign_scheduled", gettext_lazy("Campaign scheduled")),
        ("messaging.campaign_sent", gettext_lazy("Campaign sent")),
        ("messaging.campaign_cancelled", gettext_lazy("Campaign cancelled")),
        ("messaging.campaign_test_sent", gettext_lazy("Campaign test sent")),
        ("messaging.pressure_changed", gettext_lazy("Pressure settings changed")),
        ("messaging.automatic_changed", gettext_lazy("Automatic message changed")),
        ("messaging.fewer", gettext_lazy("Asked for fewer messages")),
        ("messaging.pause", gettext_lazy("Paused messages for 3 months")),
        ("messaging.unsubscribed", gettext_lazy("Unsubscribed from a message's link")),
        ("messaging.suppressed", gettext_lazy("Address removed from sending")),
        ("messaging.suppression_lifted", gettext_lazy("Address allowed again")),
    ):
        w.words(action, label, w.generic)
