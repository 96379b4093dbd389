"""Forms of the staff account pages: they parse; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cueillette.accounts import timezones
from cueillette.accounts.models import Role
from cueillette.core.errors import ServiceError
from cueillette.core.mail import send_templated
from cueillette.core.models import CURRENCIES, TIMEZONES, Language

TIMEZONE_CHOICES = [(tz, tz.replace("_", " ")) for tz in TIMEZONES]


def timezone_field(form: forms.Form, country: str | None) -> None:
    """A text box with a list (``<datalist>``, no JavaScript): the zones likely for
    ``country`` first, then every zone; typing a city filters them. The value must be one
    of the zones (the field's choices)."""
    likely, rest = timezones.ordered_zones(country)
    field = form.fields["timezone"]
    field.widget = forms.TextInput(
        attrs={
            "list": "timezone-options",
            "autocomplete": "off",
            "spellcheck": "false",
            "autocapitalize": "none",
        }
    )
    field.help_text = _("Start typing a city (Paris, Montreal, Brussels...) and pick it.")
    form.timezone_likely = likely  # type: ignore[attr-defined]
    form.timezone_rest = rest  # type: ignore[attr-defined]


CURRENCY_CHOICES = [(c, c) for c in CURRENCIES]


class ServiceErrorMixin:
    """Errors that name the field; a ServiceError goes next to the field it names."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # type: ignore[attr-defined]
            name = str(field.label or "").lower()
            field.error_messages["required"] = _("%(field)s is required") % {"field": name}
            field.error_messages["invalid_choice"] = _("%(field)s: choose one of the list") % {
                "field": name
            }
            if isinstance(field, forms.EmailField):
                field.error_messages["invalid"] = _("%(field)s is not valid") % {"field": name}
            if isinstance(field, forms.IntegerField):
                field.error_messages["invalid"] = _("%(field)s must be a whole number") % {
                    "field": name
                }
                field.error_messages["min_value"] = _(
                    "%(field)s must be %%(limit_value)s at least"
                ) % {"field": name}

    def add_service_error(self, error: ServiceError) -> None:
        field = error.field if error.field in self.fields else None  # type: ignore[attr-defined]
        self.add_error(field, error.message)  # type: ignore[attr-defined]


class PersonForm(ServiceErrorMixin, forms.Form):
    full_name = forms.CharField(
        label=_("Your full name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    # A plain text field: the service checks the address and says what is wrong with it.
    email = forms.CharField(
        label=_("Your email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=_("10 characters at least; not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class OrganizationCreateForm(ServiceErrorMixin, forms.Form):
    org_name = forms.CharField(
        label=_("Name of the business"),
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "organization", "data-slug-source": ""}),
    )
    slug = forms.CharField(
        label=_("Public address"),
        max_length=50,
        help_text=_(
            "Your pages will be at /o/<address>/. 3 to 50 lowercase letters, digits or hyphens."
        ),
        widget=forms.TextInput(
            attrs={"autocapitalize": "none", "spellcheck": "false", "data-slug-target": ""}
        ),
    )
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, initial="fr")
    timezone = forms.ChoiceField(
        label=_("Time zone"), choices=TIMEZONE_CHOICES, initial="Europe/Paris"
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial="EUR")

    def __init__(self, *args: Any, country: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        timezone_field(self, country)

    def add_service_error(self, error: ServiceError) -> None:
        # The service names the organization's name "name"; the form calls it "org_name".
        if error.field == "name":
            self.add_error("org_name", error.message)
        else:
            super().add_service_error(error)


class LoginForm(ServiceErrorMixin, forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": ""}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class InviteForm(ServiceErrorMixin, forms.Form):
    email = forms.CharField(
        label=_("Email of the person"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.COUNTER)


class RoleForm(ServiceErrorMixin, forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class InvitationPasswordForm(ServiceErrorMixin, forms.Form):
    """An existing account accepting an invitation proves who they are."""

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class InvitationAccountForm(ServiceErrorMixin, forms.Form):
    """A newcomer accepting an invitation creates their account."""

    full_name = forms.CharField(
        label=_("Your full name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        help_text=_("10 characters at least; not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class OrganizationSettingsForm(ServiceErrorMixin, forms.Form):
    name = forms.CharField(label=_("Name of the business"), max_length=120)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=Language.choices,
        help_text=_("Language of the public pages and of emails to customers who did not choose."),
    )
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)

    def __init__(self, *args: Any, country: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        timezone_field(self, country)

    retention_days = forms.IntegerField(
        label=_("Retention period (days)"),
        min_value=30,
        help_text=_(
            "Customers inactive for longer are anonymised, after a warning. 30 days at least."
        ),
    )
    contact_email = forms.CharField(
        label=_("Contact email"),
        max_length=254,
        required=False,
        widget=forms.EmailInput,
        help_text=_(
            "Shown to your customers on the public pages; when they answer one of your "
            "emails, the answer reaches this address."
        ),
    )
    address = forms.CharField(label=_("Address"), max_length=255, required=False)


class StaffPasswordResetForm(PasswordResetForm):
    """Django's reset form, delivering our own email in the person's language."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        from django.conf import settings

        user = context["user"]
        url = settings.SITE_URL + reverse(
            "accounts:password_reset_confirm",
            kwargs={"uidb64": context["uid"], "token": context["token"]},
        )
        send_templated(
            "accounts/email/password_reset",
            to_email,
            {"user": user, "url": url},
            language=getattr(user, "language", "fr"),
            klass="staff",
        )
