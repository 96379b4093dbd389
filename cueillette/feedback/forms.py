"""Forms of the owner's pages: they parse and render; the services validate."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cueillette.core.errors import ServiceError
from cueillette.core.forms import apply_service_error
from cueillette.feedback.models import DEFAULT_QUESTION, FollowUp, SurveySettings
from cueillette.feedback.services import SettingsChange

UNITS = [("hours", _("hours")), ("days", _("days"))]


def _number() -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})


class SettingsForm(forms.Form):
    enabled = forms.BooleanField(
        label=_("Send a survey after purchases and visits"), required=False
    )
    delay = forms.CharField(label=_("Wait after the purchase or visit"), widget=_number())
    delay_unit = forms.ChoiceField(label=_("Unit"), choices=UNITS)
    sampling_rate = forms.CharField(
        label=_("Share of purchases and visits followed by a survey (%)"),
        widget=_number(),
        help_text=_(
            "100 asks after every purchase (within the limit below); 20 after one in five."
        ),
    )
    min_days_between = forms.CharField(
        label=_("At least this many days between two surveys to one customer"),
        widget=_number(),
        help_text=_("90 by default: nobody is asked more than about four times a year."),
    )
    link_validity_days = forms.CharField(
        label=_("The survey link works for (days)"), widget=_number()
    )
    question_fr = forms.CharField(
        label=_("The question in French"),
        required=False,
        max_length=600,
        help_text=_("Leave empty for the default. {org} is replaced by your business's name."),
    )
    question_en = forms.CharField(
        label=_("The question in English"),
        required=False,
        max_length=600,
        help_text=_("Leave empty for the default. {org} is replaced by your business's name."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["question_fr"].widget.attrs["placeholder"] = DEFAULT_QUESTION["fr"]
        self.fields["question_en"].widget.attrs["placeholder"] = DEFAULT_QUESTION["en"]
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}_helptext")

    @classmethod
    def for_settings(cls, row: SurveySettings) -> SettingsForm:
        days = row.delay_hours % 24 == 0 and row.delay_hours > 0
        return cls(
            initial={
                "enabled": row.enabled,
                "delay": row.delay_hours // 24 if days else row.delay_hours,
                "delay_unit": "days" if days else "hours",
                "sampling_rate": row.sampling_rate,
                "min_days_between": row.min_days_between,
                "link_validity_days": row.link_validity_days,
                "question_fr": row.question_fr,
                "question_en": row.question_en,
            }
        )

    def service_data(self) -> SettingsChange:
        """The fields as typed: the service converts the delay and checks every limit."""
        data = self.data
        return SettingsChange(
            enabled=data.get("enabled") in ("on", "true", "1", True),
            delay=str(data.get("delay", "")).strip(),
            delay_unit=str(data.get("delay_unit", "hours")),
            sampling_rate=str(data.get("sampling_rate", "")),
            min_days_between=str(data.get("min_days_between", "")),
            link_validity_days=str(data.get("link_validity_days", "")),
            question_fr=str(data.get("question_fr", "")),
            question_en=str(data.get("question_en", "")),
        )

    def add_service_errors(self, exc: ServiceError) -> None:
        apply_service_error(self, exc, rename={"delay_hours": "delay"}, once_per_field=True)


FOLLOW_UP_CHOICES = [
    (FollowUp.TO_CONTACT.value, FollowUp.TO_CONTACT.label),
    (FollowUp.CONTACTED.value, FollowUp.CONTACTED.label),
    (FollowUp.RESOLVED.value, FollowUp.RESOLVED.label),
]


class FollowUpForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=FOLLOW_UP_CHOICES)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )
