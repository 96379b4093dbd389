"""Forms of the staff pages: they parse and render; the rules live in customers.services.

Fields are deliberately lenient (no max length, no email check here): the service validates
and its ``ServiceError.errors`` are put back next to each field by :func:`add_service_errors`,
so pages, API and imports all speak with the same messages ("email is not valid: missing @").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cueillette.core.forms import apply_service_error
from cueillette.customers import care
from cueillette.customers.models import HeardFrom, Purpose
from cueillette.customers.services import CustomerInput

LANGUAGE_CHOICES = [("fr", _("French")), ("en", _("English"))]


class CustomerForm(forms.Form):
    """The profile fields staff type at the counter or when editing."""

    first_name = forms.CharField(label=_("First name"), required=False)
    last_name = forms.CharField(label=_("Last name"), required=False)
    email = forms.CharField(
        label=_("Email"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "inputmode": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        help_text=_("Any format: 06 12 34 56 78 or +33 6 12 34 56 78."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )
    postal_code = forms.CharField(
        label=_("Postal code"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    language = forms.ChoiceField(label=_("Preferred language"), choices=LANGUAGE_CHOICES)
    birthday = forms.CharField(
        label=_("Birthday (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    tags = forms.CharField(
        label=_("Interests"),
        required=False,
        help_text=_("Separated by commas, for example: yoga, tea, children."),
    )
    heard_from = forms.ChoiceField(
        label=_("How did you hear about us?"), required=False, choices=HeardFrom.choices
    )
    heard_from_detail = forms.CharField(label=_("Details (optional)"), required=False)
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        help_text=_("Only what helps serve this customer. The customer can read it."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    tags_confirmed = forms.BooleanField(
        label=_("These are interests, not health information: keep them as interests"),
        required=False,
    )

    def __init__(self, *args: Any, existing_tags: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.existing_tags = {t.strip().casefold() for t in existing_tags or []}
        self.health_tags: list[str] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A new interest that reads like health data (GDPR art. 9) asks for a second look: tags
        # feed segments and offers; health information belongs in a care note.
        typed = [t.strip() for t in str(cleaned.get("tags") or "").split(",")]
        new = [t for t in typed if t and t.casefold() not in self.existing_tags]
        self.health_tags = care.health_like(new)
        if self.health_tags and not cleaned.get("tags_confirmed"):
            self.add_error(
                "tags",
                _(
                    "tags: “%(tags)s” looks like health information. Write it in a care note "
                    "instead (only the people who give care read it, it never feeds offers), "
                    "or tick the box below to keep it as an interest."
                )
                % {"tags": "”, “".join(self.health_tags)},
            )
        return cleaned

    def customer_data(self) -> CustomerInput:
        """What the service receives: every profile field, as typed."""
        return CustomerInput(**{name: self.cleaned_data.get(name, "") for name in PROFILE_FIELDS})

    @staticmethod
    def initial_from(customer: Any) -> dict[str, Any]:
        initial = {name: getattr(customer, name) for name in PROFILE_FIELDS}
        initial["tags"] = ", ".join(customer.tags or [])
        birthday = customer.birthday
        initial["birthday"] = birthday.isoformat() if isinstance(birthday, dt.date) else ""
        return initial


PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "postal_code",
    "language",
    "birthday",
    "tags",
    "heard_from",
    "heard_from_detail",
    "notes",
)


class CounterRegistrationForm(CustomerForm):
    """Registration at the counter: the profile, one unticked box per purpose, the override."""

    create_anyway = forms.BooleanField(
        label=_("This is a different person: create the record anyway"), required=False
    )
    # "Who sent you?": a search and the customer chosen (cueillette/referrals/counter.py).
    referrer_q = forms.CharField(
        label=_("The customer who recommended us (optional)"),
        required=False,
        max_length=100,
        help_text=_("Search by name, phone, card number or email."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "type": "search"}),
    )
    referrer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The examples of the help texts, where a phone screen has room for them.
        self.fields["phone"].widget.attrs.setdefault("placeholder", "06 12 34 56 78")
        for purpose in Purpose.values:
            # Never pre-ticked, whatever the initial data says.
            self.fields[f"consent_{purpose}"] = forms.BooleanField(required=False, initial=False)

    def consents(self) -> dict[str, bool]:
        return {p: bool(self.cleaned_data.get(f"consent_{p}")) for p in Purpose.values}


class WordingForm(forms.Form):
    text = forms.CharField(
        label=_("Text shown to customers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


# Each error of a ServiceError next to its field (or at the top if it has none).
add_service_errors = apply_service_error
