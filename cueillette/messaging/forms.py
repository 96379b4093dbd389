"""Forms of the messaging pages: they parse; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cueillette.customers.models import Purpose
from cueillette.messaging.models import Segment

MARKDOWN_HELP = _(
    "Plain text or Markdown: **bold**, *italic*, [a link](https://…), lists with “- ”. "
    "No images: they would tell us who opened the message. {first_name} is replaced."
)


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name (only you see it)"), max_length=120)
    segment: forms.ModelChoiceField[Segment] = forms.ModelChoiceField(
        label=_("Who receives it"),
        queryset=None,
        required=False,
        empty_label=_("Choose a segment"),
    )
    subject_fr = forms.CharField(label=_("Subject in French"), max_length=200, required=False)
    body_fr = forms.CharField(
        label=_("Message in French"),
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        help_text=MARKDOWN_HELP,
        max_length=20000,
    )
    subject_en = forms.CharField(label=_("Subject in English"), max_length=200, required=False)
    body_en = forms.CharField(
        label=_("Message in English"),
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        help_text=_("Optional: customers who chose English receive it; the others the French."),
        max_length=20000,
    )
    holdout_percent = forms.IntegerField(
        label=_("Held back to measure (%)"),
        min_value=0,
        max_value=50,
        initial=0,
        help_text=_(
            "A share of the audience that does not receive it, to compare what customers do "
            "afterwards."
        ),
    )
    results_days = forms.IntegerField(
        label=_("Results counted over (days)"), min_value=1, max_value=90, initial=14
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.all()  # type: ignore[attr-defined]


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label=_("Send on"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )


def purpose_choices() -> list[tuple[str, Any]]:
    return [("", _("Nothing more")), *[(p.value, p.label) for p in Purpose]]


def rfm_choices() -> list[tuple[str, Any]]:
    from cueillette.insights.labels import SEGMENT_LABELS

    return [(str(code), label) for code, label in SEGMENT_LABELS.items()]


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    tags = forms.CharField(
        label=_("Interests (any of, separated by commas)"), required=False, max_length=500
    )
    tiers = forms.CharField(
        label=_("Tiers (codes, separated by commas)"), required=False, max_length=300
    )
    min_points = forms.IntegerField(label=_("Points at least"), required=False, min_value=0)
    max_points = forms.IntegerField(label=_("Points at most"), required=False, min_value=0)
    visited_within_days = forms.IntegerField(
        label=_("Came in the last … days"), required=False, min_value=0
    )
    not_visited_for_days = forms.IntegerField(
        label=_("Has not come for … days"), required=False, min_value=0
    )
    postal_prefix = forms.CharField(
        label=_("Postal code starts with"), required=False, max_length=12
    )
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("Any")), ("fr", _("French")), ("en", _("English"))],
    )
    consent = forms.ChoiceField(
        label=_("Also needs the consent"), required=False, choices=purpose_choices
    )
    rfm = forms.MultipleChoiceField(
        label=_("Insight segments (any of)"),
        required=False,
        choices=rfm_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("From the nightly customer segments: champions, at risk, lost…"),
    )


class PressureForm(forms.Form):
    max_marketing = forms.IntegerField(
        label=_("Marketing messages per customer at most"),
        min_value=0,
        max_value=30,
        help_text=_("Campaigns and promotional automatic messages count; service messages do not."),
    )
    window_days = forms.IntegerField(label=_("Over (days)"), min_value=1, max_value=365)
    quiet_start = forms.TimeField(
        label=_("Quiet hours from"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    quiet_end = forms.TimeField(
        label=_("Quiet hours until"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_(
            "In your business's time zone. A campaign sent during them leaves when they end."
        ),
    )
    per_second = forms.IntegerField(
        label=_("Messages per second at most"),
        min_value=1,
        max_value=1000,
        help_text=_("What your mail server accepts."),
    )


class AutomaticForm(forms.Form):
    enabled = forms.BooleanField(label=_("Send it"), required=False)
    subject_fr = forms.CharField(label=_("Subject in French"), required=False, max_length=200)
    body_fr = forms.CharField(
        label=_("Message in French"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
    )
    subject_en = forms.CharField(label=_("Subject in English"), required=False, max_length=200)
    body_en = forms.CharField(
        label=_("Message in English"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
    )
    weeks = forms.IntegerField(
        label=_("After how many weeks"), required=False, min_value=2, max_value=104
    )
