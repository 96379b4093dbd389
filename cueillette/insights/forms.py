"""Forms of the insights pages: they parse; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cueillette.core.errors import ServiceError
from cueillette.insights.models import BusinessChange, LeaveReason


class ServiceErrorsMixin(forms.Form):
    def add_service_error(self, exc: ServiceError) -> None:
        errors = exc.errors or [{"field": exc.field, "message": exc.message}]
        for error in errors:
            name = error.get("field")
            self.add_error(name if name in self.fields else None, str(error["message"]))


class SettingsForm(ServiceErrorsMixin):
    lapse_factor = forms.CharField(
        label=_("A customer has lapsed after"),
        max_length=5,
        help_text=_(
            "times their usual gap between two purchases without a purchase (3 by default: "
            "someone who comes every week has lapsed after three weeks away)"
        ),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    holdout_weeks = forms.CharField(
        label=_("Weeks kept out to check the model"),
        max_length=3,
        help_text=_("the model is fitted again without them and its forecast compared"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    change_window_weeks = forms.CharField(
        label=_("Weeks around a change"),
        max_length=3,
        help_text=_(
            "customers whose last purchase falls this close to a change are listed with it"
        ),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class ReasonForm(ServiceErrorsMixin):
    label_fr = forms.CharField(label=_("In French"), max_length=200, required=False)
    label_en = forms.CharField(label=_("In English"), max_length=200, required=False)
    active = forms.BooleanField(label=_("Offered"), required=False, initial=True)


class ChangeForm(ServiceErrorsMixin):
    occurred_on = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}), required=False
    )
    title = forms.CharField(
        label=_("What changed"),
        max_length=200,
        required=False,
        help_text=_("For example: free bus service stopped, prices raised, new competitor."),
    )
    description = forms.CharField(
        label=_("Details"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
    )
    reason = forms.ModelChoiceField(
        label=_("Reason it may give customers to leave"),
        queryset=LeaveReason.objects.unscoped().none(),  # set per request in __init__
        required=False,
        empty_label=_("— none —"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reason"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = LeaveReason.objects.filter(active=True)

    @classmethod
    def for_change(cls, change: BusinessChange) -> ChangeForm:
        return cls(
            initial={
                "occurred_on": change.occurred_on,
                "title": change.title,
                "description": change.description,
                "reason": change.reason_id,
            }
        )


class AttachForm(ServiceErrorsMixin):
    reason = forms.ModelChoiceField(
        label=_("Why they stopped coming"),
        queryset=LeaveReason.objects.unscoped().none(),  # set per request in __init__
        required=False,
        empty_label=_("— choose —"),
    )
    change = forms.ModelChoiceField(
        label=_("Linked to a change"),
        queryset=BusinessChange.objects.unscoped().none(),  # set per request in __init__
        required=False,
        empty_label=_("— none —"),
    )
    comment = forms.CharField(
        label=_("Comment"), max_length=600, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reason = self.fields["reason"]
        change = self.fields["change"]
        assert isinstance(reason, forms.ModelChoiceField)
        assert isinstance(change, forms.ModelChoiceField)
        reason.queryset = LeaveReason.objects.filter(active=True)
        change.queryset = BusinessChange.objects.all()


class NoteForm(ServiceErrorsMixin):
    text = forms.CharField(
        label=_("Note"),
        max_length=1200,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What was said on the phone or at the counter."),
    )
