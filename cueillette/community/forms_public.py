"""Forms of the public community pages: they parse, with the services' own cleaners, so every
bad field shows next to its reason in one round (the services check again and write)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cueillette.community import services
from cueillette.community.models import MAX_DISPLAY_NAME, MAX_TEXT, PostKind
from cueillette.core.errors import ServiceError
from cueillette.customers.models import ConsentWording
from cueillette.customers.normalize import normalize_email

HONEYPOT = "website"
RATING_CHOICES = [("", _("No stars"))] + [(str(n), str(n)) for n in range(1, 6)]


def _check(func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except ServiceError as exc:
        raise forms.ValidationError(exc.message) from exc


class _Honeypot(forms.Form):
    # Humans never see it (hidden by CSS, out of the tab order); bots fill every field.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get(HONEYPOT))


class PostForm(_Honeypot):
    """A new post. ``identified``: the visitor's space is open (no email asked)."""

    kind = forms.CharField(label=_("What is it?"), required=False)
    rating = forms.CharField(label=_("Your rating (reviews only, optional)"), required=False)
    text = forms.CharField(
        label=_("Your message"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MAX_TEXT}),
    )
    display_name = forms.CharField(
        label=_("Name shown with your post"),
        required=False,
        help_text=_("Your choice: a first name, initials or a nickname."),
        widget=forms.TextInput(attrs={"maxlength": MAX_DISPLAY_NAME, "autocomplete": "nickname"}),
    )
    email = forms.CharField(
        label=_("Your email"),
        required=False,
        help_text=_(
            "Not shown. We send you a link to confirm your post: it is published once you press it."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    follow = forms.BooleanField(label=_("Email me when the business replies"), required=False)
    consent = forms.BooleanField(required=False)
    wording = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        identified: bool,
        wording: ConsentWording,
        has_consent: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.identified = identified
        self.consent_wording = wording
        self.has_consent = has_consent
        self.initial["wording"] = wording.pk
        if identified:
            del self.fields["email"]

    def kinds(self) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in PostKind.choices]

    def ratings(self) -> list[tuple[str, str]]:
        return [(str(n), str(n)) for n in range(1, 6)]

    def clean_kind(self) -> str:
        return str(_check(services._clean_kind, self.cleaned_data.get("kind")))

    def clean_text(self) -> str:
        return str(_check(services.clean_text, self.cleaned_data.get("text")))

    def clean_display_name(self) -> str:
        return str(
            _check(
                services.clean_text,
                self.cleaned_data.get("display_name"),
                "display_name",
                max_length=MAX_DISPLAY_NAME,
            )
        )

    def clean_rating(self) -> int | None:
        value = _check(services.clean_rating, self.cleaned_data.get("rating"))
        return int(value) if value is not None else None

    def clean_email(self) -> str:
        value = str(self.cleaned_data.get("email") or "")
        email = _check(normalize_email, value)
        if not email:
            raise forms.ValidationError(_("email is required"))
        return str(email)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("follow") and not (self.has_consent or cleaned.get("consent")):
            self.add_error(
                "consent",
                _("To be emailed about replies, tick the box to agree to community emails."),
            )
        return cleaned


class EditForm(forms.Form):
    text = forms.CharField(
        label=_("Your message"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MAX_TEXT}),
    )
    rating = forms.CharField(label=_("Your rating (optional)"), required=False)

    def ratings(self) -> list[tuple[str, str]]:
        return [(str(n), str(n)) for n in range(1, 6)]

    def clean_text(self) -> str:
        return str(_check(services.clean_text, self.cleaned_data.get("text")))

    def clean_rating(self) -> int | None:
        value = _check(services.clean_rating, self.cleaned_data.get("rating"))
        return int(value) if value is not None else None


class AppealForm(forms.Form):
    text = forms.CharField(
        label=_("Why should your post be shown again? (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": services.MAX_NOTE}),
    )


class ReplyForm(_Honeypot):
    """A customer's answer in a thread. ``identified``: the visitor's space is open (no email
    asked); otherwise the answer waits for the email's confirmation, like a first post."""

    text = forms.CharField(
        label=_("Your answer"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_TEXT}),
    )
    display_name = forms.CharField(
        label=_("Name shown with your answer"),
        required=False,
        help_text=_("Your choice: a first name, initials or a nickname."),
        widget=forms.TextInput(attrs={"maxlength": MAX_DISPLAY_NAME, "autocomplete": "nickname"}),
    )
    email = forms.CharField(
        label=_("Your email"),
        required=False,
        help_text=_(
            "Not shown. We send you a link to confirm your answer: it is published once you "
            "press it."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )

    def __init__(self, *args: Any, identified: bool, **kwargs: Any) -> None:
        # Its own ids: the thread page carries other forms with a "text" field.
        kwargs.setdefault("auto_id", "answer_%s")
        super().__init__(*args, **kwargs)
        self.identified = identified
        if identified:
            del self.fields["email"]

    def clean_text(self) -> str:
        return str(_check(services.clean_text, self.cleaned_data.get("text")))

    def clean_display_name(self) -> str:
        return str(
            _check(
                services.clean_text,
                self.cleaned_data.get("display_name"),
                "display_name",
                max_length=MAX_DISPLAY_NAME,
            )
        )

    def clean_email(self) -> str:
        value = str(self.cleaned_data.get("email") or "")
        email = _check(normalize_email, value)
        if not email:
            raise forms.ValidationError(_("email is required"))
        return str(email)
