"""The "who sent you?" field of the counter's registration form (see referrals/counter.py)."""

from __future__ import annotations

from typing import Any

from django import forms, template

from cueillette.referrals import counter

register = template.Library()


@register.inclusion_tag("referrals/counter/_who_sent_you.html")
def who_sent_you(form: forms.Form) -> dict[str, Any]:
    """The field, its errors and the matches to choose from; nothing when referrals are off."""
    return {
        "enabled": counter.enabled(),
        "field": form[counter.QUERY_FIELD],
        "choices": getattr(form, "referrer_choices", []),
        "picked": getattr(form, "referrer_picked", None),
    }
