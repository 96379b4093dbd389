"""Forms of the public pages: they parse; the rules live in customers.services and portal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cueillette.core.errors import ServiceError
from cueillette.core.forms import apply_service_error
from cueillette.customers.models import ConsentWording, Customer, HeardFrom, Purpose
from cueillette.customers.normalize import normalize_email, normalize_phone
from cueillette.customers.services import CustomerInput

# Each language named in itself, as language pickers do.
LANGUAGE_CHOICES = [("fr", "Français"), ("en", "English")]
HONEYPOT = "website"


# Each error of a ServiceError next to its field (or at the top if it has none).
add_service_errors = apply_service_error


class JoinForm(forms.Form):
    """The join page: who you are, then one unticked box per purpose with its exact wording."""

    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        error_messages={"required": _("first name is required")},
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        error_messages={"required": _("last name is required")},
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.CharField(
        label=_("Email"),
        max_length=254,
        error_messages={"required": _("email is required")},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        required=False,
        max_length=32,
        help_text=_("Needed only for news by text message."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    postal_code = forms.CharField(
        label=_("Postal code (optional)"),
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    heard_from = forms.ChoiceField(
        label=_("How did you hear about us? (optional)"),
        required=False,
        choices=HeardFrom.choices,
    )
    # A friend's referral code said aloud or written down (cueillette/referrals/joining.py).
    referral_code = forms.CharField(
        label=_("Have a referral code? (optional)"),
        required=False,
        max_length=64,
        help_text=_("The code a friend gave you, for example 7KQ4-M2XD."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    # Humans never see it (hidden by CSS, out of the tab order); bots fill every field.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, wordings: dict[str, ConsentWording], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wordings = wordings
        for purpose in Purpose.values:
            # Never pre-ticked, whatever the initial data says.
            self.fields[f"consent_{purpose}"] = forms.BooleanField(
                required=False, initial=False, label=Purpose(purpose).label
            )
            self.fields[f"wording_{purpose}"] = forms.IntegerField(
                required=False, widget=forms.HiddenInput
            )
            self.initial[f"wording_{purpose}"] = wordings[purpose].pk

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get(HONEYPOT))

    def consent_rows(self) -> list[dict[str, Any]]:
        """For the template: each purpose's checkbox, hidden wording id and wording."""
        return [
            {
                "purpose": p,
                "label": Purpose(p).label,
                "field": self[f"consent_{p}"],
                "wording_field": self[f"wording_{p}"],
                "wording": self.wordings[p],
            }
            for p in Purpose.values
        ]

    # Email and phone are checked here too, so every error shows in the same round as the
    # missing names (the service checks them again; these only say it earlier).
    def clean_email(self) -> str:
        value = str(self.cleaned_data.get("email") or "")
        try:
            normalize_email(value)
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc
        return value

    def clean_phone(self) -> str:
        value = str(self.cleaned_data.get("phone") or "")
        try:
            normalize_phone(value)
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get(f"consent_{Purpose.NEWS_SMS}") and not cleaned.get("phone"):
            self.add_error("phone", _("phone is needed to receive news by text message"))
        return cleaned

    def customer_data(self) -> CustomerInput:
        return CustomerInput(
            **{
                name: self.cleaned_data.get(name) or ""
                for name in (
                    "first_name",
                    "last_name",
                    "email",
                    "phone",
                    "postal_code",
                    "heard_from",
                )
            }
        )

    def ticked(self, all_wordings: dict[int, ConsentWording]) -> dict[str, ConsentWording]:
        """Each ticked purpose with the wording the page showed (the current one if unknown)."""
        out: dict[str, ConsentWording] = {}
        for purpose in Purpose.values:
            if not self.cleaned_data.get(f"consent_{purpose}"):
                continue
            shown = all_wordings.get(self.cleaned_data.get(f"wording_{purpose}") or 0)
            out[purpose] = (
                shown if shown is not None and shown.purpose == purpose else self.wordings[purpose]
            )
        return out


class EmailForm(forms.Form):
    email = forms.CharField(
        label=_("Your email"),
        max_length=254,
        error_messages={"required": _("email is required")},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )


class ProfileForm(forms.Form):
    """What a customer corrects in their space."""

    first_name = forms.CharField(
        label=_("First name"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.CharField(
        label=_("Email"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    postal_code = forms.CharField(
        label=_("Postal code"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )
    language = forms.ChoiceField(label=_("Language of our messages"), choices=LANGUAGE_CHOICES)
    birthday = forms.CharField(
        label=_("Birthday (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
    )

    FIELDS = ("first_name", "last_name", "email", "phone", "postal_code", "language", "birthday")

    @classmethod
    def initial_from(cls, customer: Customer) -> dict[str, Any]:
        initial = {name: getattr(customer, name) for name in cls.FIELDS}
        birthday = customer.birthday
        initial["birthday"] = birthday.isoformat() if isinstance(birthday, dt.date) else ""
        return initial

    def customer_data(self) -> CustomerInput:
        return CustomerInput(**{name: self.cleaned_data.get(name, "") for name in self.FIELDS})
