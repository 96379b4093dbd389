"""Forms of the events pages. They only parse: each builds the service's typed input."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cueillette.core.errors import ServiceError
from cueillette.core.tenancy import current_org
from cueillette.customers.models import ConsentWording, Purpose
from cueillette.events import rules, services
from cueillette.events.models import MAX_ANSWER, MAX_QUESTION, MAX_TITLE, Mode, Session

HONEYPOT = "website"


def apply_errors(form: forms.Form, exc: ServiceError) -> None:
    """Each error of a ServiceError next to its field (or at the top if it has none)."""
    errors = exc.errors or [{"field": exc.field, "message": exc.message}]
    aliases = {"starts_at": "date", "first_date": "first_date", "session": None}
    for err in errors:
        name = err.get("field")
        name = aliases.get(name, name) if name in aliases else name
        form.add_error(name if name in form.fields else None, str(err.get("message", "")))


class SessionForm(forms.Form):
    """A session's details. The date and time are local to the business."""

    title = forms.CharField(label=_("Title"), max_length=MAX_TITLE, required=False)
    description = forms.CharField(
        label=_("Description (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    mode = forms.ChoiceField(label=_("Where"), choices=Mode.choices, initial=Mode.IN_PERSON)
    location = forms.CharField(label=_("Address (in person)"), required=False, max_length=300)
    video_url = forms.CharField(
        label=_("Video link (online)"),
        required=False,
        max_length=500,
        help_text=_("Shown only to registered people, in their confirmation and on their page."),
        widget=forms.URLInput(attrs={"inputmode": "url"}),
    )
    date = forms.DateField(
        label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    time = forms.TimeField(
        label=_("Start time"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), initial=60, required=False)
    capacity = forms.IntegerField(label=_("Seats"), initial=12, required=False)
    waitlist_enabled = forms.BooleanField(
        label=_("Waiting list when full"), required=False, initial=True
    )
    price = forms.CharField(
        label=_("Price paid on site (optional)"),
        required=False,
        max_length=20,
        help_text=_("Leave empty for a free session. Payment happens on site."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    points_for_attending = forms.IntegerField(
        label=_("Loyalty points for attending"), initial=0, required=False, min_value=0
    )
    question = forms.CharField(
        label=_("A question for registrants (optional)"),
        required=False,
        max_length=MAX_QUESTION,
        help_text=_("For example: your level, a dietary need."),
    )
    feedback_enabled = forms.BooleanField(
        label=_("Ask attendees for their opinion afterwards (only those who agreed)"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, session: Session | None = None, **kwargs: Any) -> None:
        if session is not None and "initial" not in kwargs:
            local = session.starts_at.astimezone(current_org().tz)
            kwargs["initial"] = {
                "title": session.title,
                "description": session.description,
                "mode": session.mode,
                "location": session.location,
                "video_url": session.video_url,
                "date": local.date(),
                "time": local.time().replace(second=0, microsecond=0),
                "duration_minutes": session.duration_minutes,
                "capacity": session.capacity,
                "waitlist_enabled": session.waitlist_enabled,
                "price": "" if session.price is None else str(session.price).replace(".", ","),
                "points_for_attending": session.points_for_attending,
                "question": session.question,
                "feedback_enabled": session.feedback_enabled,
            }
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("date") and "date" not in self.errors:
            self.add_error("date", _("the date is needed"))
        if not cleaned.get("time") and "time" not in self.errors:
            self.add_error("time", _("the start time is needed"))
        if cleaned.get("capacity") is None and "capacity" not in self.errors:
            self.add_error("capacity", _("the number of seats is needed"))
        try:
            cleaned["price_value"] = services.parse_price(cleaned.get("price"))
        except ServiceError as exc:
            self.add_error("price", exc.message)
        return cleaned

    def starts_at(self) -> dt.datetime:
        return rules.local_to_utc(
            self.cleaned_data["date"], self.cleaned_data["time"], current_org().tz
        )

    def to_input(self, starts_at: dt.datetime | None = None) -> services.SessionInput:
        d = self.cleaned_data
        return services.SessionInput(
            title=d.get("title") or "",
            starts_at=starts_at or self.starts_at(),
            capacity=int(d.get("capacity") or 0),
            description=d.get("description") or "",
            mode=d.get("mode") or Mode.IN_PERSON,
            location=d.get("location") or "",
            video_url=d.get("video_url") or "",
            duration_minutes=int(d.get("duration_minutes") or 0),
            waitlist_enabled=bool(d.get("waitlist_enabled")),
            price=d.get("price_value"),
            points_for_attending=int(d.get("points_for_attending") or 0),
            question=d.get("question") or "",
            feedback_enabled=bool(d.get("feedback_enabled")),
        )


class SeriesForm(SessionForm):
    """A weekly series: the first date, the number of weeks and the dates to skip."""

    weeks = forms.IntegerField(label=_("Number of weeks"), initial=8, required=False)
    exceptions = forms.CharField(
        label=_("Dates to skip (optional)"),
        required=False,
        help_text=_("One per line or separated by commas, as YYYY-MM-DD or DD/MM/YYYY."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    field_order = ["title", "description", "mode", "location", "video_url", "date", "time", "weeks"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["date"].label = _("First date")

    def clean_exceptions(self) -> list[dt.date]:
        raw = str(self.cleaned_data.get("exceptions") or "")
        out: list[dt.date] = []
        for part in raw.replace(";", ",").replace("\n", ",").split(","):
            text = part.strip()
            if not text:
                continue
            try:
                if "/" in text:
                    day, month, year = (int(x) for x in text.split("/"))
                    out.append(dt.date(year, month, day))
                else:
                    out.append(dt.date.fromisoformat(text))
            except ValueError as exc:
                raise forms.ValidationError(
                    _("“%(value)s” is not a date (YYYY-MM-DD or DD/MM/YYYY)") % {"value": text}
                ) from exc
        return out

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("weeks") is None and "weeks" not in self.errors:
            self.add_error("weeks", _("the number of weeks is needed"))
        return cleaned

    def to_series_input(self) -> services.SeriesInput:
        d = self.cleaned_data
        return services.SeriesInput(
            session=self.to_input(starts_at=self.starts_at()),
            first_date=d["date"],
            local_time=d["time"],
            weeks=int(d.get("weeks") or 0),
            exceptions=tuple(d.get("exceptions") or ()),
        )


class RegistrationForm(forms.Form):
    """The public form: a name, an email, the session's question, unticked consents."""

    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        error_messages={"required": _("your first name is needed")},
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name (optional)"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.CharField(
        label=_("Email"),
        max_length=254,
        help_text=_("We send you a link to confirm: your seat is booked when you click it."),
        error_messages={"required": _("your email is needed to confirm the registration")},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    answer = forms.CharField(label="", max_length=MAX_ANSWER, required=False)
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    # The consents a registration may ask for, none ticked in advance.
    PURPOSES = (Purpose.NEWS_EMAIL, Purpose.LOYALTY, Purpose.FEEDBACK, Purpose.COMMUNITY)

    def __init__(
        self,
        *args: Any,
        session: Session,
        wordings: dict[str, ConsentWording],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.session = session
        self.wordings = wordings
        if session.question:
            self.fields["answer"].label = session.question
        else:
            del self.fields["answer"]
        for purpose in self.PURPOSES:
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
        return [
            {
                "label": Purpose(p).label,
                "field": self[f"consent_{p}"],
                "wording_field": self[f"wording_{p}"],
                "wording": self.wordings[p],
            }
            for p in self.PURPOSES
        ]

    def to_request(self, language: str) -> services.RegistrationRequest:
        d = self.cleaned_data
        ids = [d.get(f"wording_{p}") or 0 for p in self.PURPOSES]
        shown = {w.pk: w for w in ConsentWording.objects.filter(pk__in=ids)}
        ticked: dict[str, ConsentWording] = {}
        for p in self.PURPOSES:
            wording = shown.get(d.get(f"wording_{p}") or 0)
            if d.get(f"consent_{p}") and wording is not None and wording.purpose == p:
                ticked[p] = wording
        return services.RegistrationRequest(
            first_name=d.get("first_name") or "",
            last_name=d.get("last_name") or "",
            email=d.get("email") or "",
            answer=d.get("answer") or "",
            consents=ticked,
            language=language,
        )


class WalkInForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}),
    )
    email = forms.CharField(
        label=_("Email (optional)"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"inputmode": "email"}),
    )
    customer_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("customer_id") and not (
            cleaned.get("first_name") or cleaned.get("last_name")
        ):
            self.add_error("first_name", _("a first or last name is needed"))
        return cleaned

    def to_input(self) -> services.WalkInInput:
        d = self.cleaned_data
        return services.WalkInInput(
            customer_id=d.get("customer_id"),
            first_name=d.get("first_name") or "",
            last_name=d.get("last_name") or "",
            email=d.get("email") or "",
            phone=d.get("phone") or "",
        )


class FeedbackForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Your opinion"),
        choices=[(str(n), str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("choose a score from 1 to 5")},
    )
    comment = forms.CharField(
        label=_("In your own words (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
