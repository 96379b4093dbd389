"""Forms of the program pages: they parse and render; the rules live in the services.

Fields are lenient text fields: :mod:`cueillette.loyalty.settings_services` (and, last,
:class:`cueillette.loyalty.rules.EarnRules`) validate, and :func:`add_service_errors` puts each
error back next to its field, so the page, a future API and the rules speak the same words.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from cueillette.core.errors import ServiceError
from cueillette.core.forms import apply_service_error
from cueillette.loyalty import rules
from cueillette.loyalty.models import Program, Reward, Tier
from cueillette.loyalty.settings_services import ProgramInput

ROUNDING_CHOICES = [
    (rules.Rounding.FLOOR.value, _("Round down (12.99 points give 12)")),
    (rules.Rounding.HALF_UP.value, _("Round to the nearest, halves up (12.5 gives 13)")),
    (rules.Rounding.HALF_EVEN.value, _("Round to the nearest, halves to even (12.5 gives 12)")),
]
EXTRA_CATEGORY_ROWS = 3
MAX_CATEGORY_ROWS = 50
# Errors about a group of inputs rather than one input: shown above the group.
GROUP_FIELDS = ("weekday_multipliers", "category_multipliers")


def _plain(value: Any) -> str:
    """A stored number as people type it (no trailing zeros): Decimal("1.500") -> "1.5"."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _number(attrs: dict[str, str] | None = None, *, decimal: bool = True) -> forms.TextInput:
    base = {"inputmode": "decimal" if decimal else "numeric", "autocomplete": "off"}
    return forms.TextInput(attrs={**base, **(attrs or {})})


class ServiceErrorsMixin:
    """Put each error of a ServiceError next to its field (or above its group, or on top)."""

    fields: dict[str, forms.Field]
    group_errors: dict[str, list[str]]

    def add_service_errors(self, exc: ServiceError) -> None:
        self.group_errors = getattr(self, "group_errors", {})
        for name in GROUP_FIELDS:
            self.group_errors.setdefault(name, [])
        apply_service_error(self, exc, groups=self.group_errors)  # type: ignore[arg-type]
        self.group_errors = {k: v for k, v in self.group_errors.items() if v}

    @property
    def has_errors(self) -> bool:
        return bool(getattr(self, "errors", None)) or bool(getattr(self, "group_errors", None))


class ProgramForm(ServiceErrorsMixin, forms.Form):
    """The program's look and earning rules, with weekday and category multipliers as rows."""

    name = forms.CharField(label=_("Program name"), required=False)
    card_color = forms.CharField(
        label=_("Card colour"),
        required=False,
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    card_message = forms.CharField(
        label=_("Message on the card"),
        required=False,
        help_text=_("A short sentence printed on the card, 140 characters at most."),
    )
    enabled = forms.BooleanField(
        label=_("The program is open: customers can join and earn points"), required=False
    )
    points_per_euro = forms.CharField(
        label=_("Points per euro"),
        required=False,
        widget=_number(),
        help_text=_("For example 1 (one point per euro) or 0.5."),
    )
    rounding = forms.CharField(
        label=_("Rounding"), required=False, widget=forms.RadioSelect(choices=ROUNDING_CHOICES)
    )
    points_per_visit = forms.CharField(
        label=_("Points per visit"),
        required=False,
        widget=_number(decimal=False),
        help_text=_("Added to each purchase, whatever its amount; 0 for none."),
    )
    daily_cap = forms.CharField(
        label=_("Cap per day"),
        required=False,
        widget=_number(decimal=False),
        help_text=_("Most points a customer can earn from purchases in one day; empty: no cap."),
    )
    welcome_bonus = forms.CharField(
        label=_("Welcome bonus"),
        required=False,
        widget=_number(decimal=False),
        help_text=_("Points given when a customer joins; 0 for none."),
    )
    birthday_bonus = forms.CharField(
        label=_("Birthday bonus"),
        required=False,
        widget=_number(decimal=False),
        help_text=_(
            "Given once a year at a purchase near the birthday, only to customers who agreed "
            "to personalised offers; 0 for none."
        ),
    )
    birthday_days_before = forms.CharField(
        label=_("Days before the birthday"), required=False, widget=_number(decimal=False)
    )
    birthday_days_after = forms.CharField(
        label=_("Days after the birthday"), required=False, widget=_number(decimal=False)
    )
    expiry_months = forms.CharField(
        label=_("Points expire after (months)"),
        required=False,
        widget=_number(decimal=False),
        help_text=_("Empty: points never expire."),
    )
    expiry_warning_days = forms.CharField(
        label=_("Warn before expiry (days)"),
        required=False,
        widget=_number(decimal=False),
        help_text=_("0: no warning."),
    )
    point_value = forms.CharField(
        label=_("Value of one point"),
        required=False,
        widget=_number(),
        help_text=_(
            "What a point costs you when redeemed (for example 0.01); used for the "
            "liability figure of the dashboard."
        ),
    )

    def __init__(self, *args: Any, category_rows: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group_errors: dict[str, list[str]] = {}
        for day in range(7):
            self.fields[f"weekday_{day}"] = forms.CharField(
                label=WEEKDAYS[day], required=False, widget=_number({"placeholder": "—"})
            )
        rows = category_rows
        if self.is_bound:
            indexes = [
                int(m.group(1))
                for key in self.data
                if (m := re.fullmatch(r"category_(\d+)_name", key)) is not None
            ]
            rows = max(indexes, default=-1) + 1
        self.category_row_count = min(max(rows, 0), MAX_CATEGORY_ROWS)
        for i in range(self.category_row_count):
            self.fields[f"category_{i}_name"] = forms.CharField(label=_("Category"), required=False)
            self.fields[f"category_{i}_multiplier"] = forms.CharField(
                label=_("Multiplier"), required=False, widget=_number()
            )

    @classmethod
    def for_program(cls, program: Program) -> ProgramForm:
        categories = list(program.category_multipliers.items())
        initial: dict[str, Any] = {
            name: _plain(getattr(program, name))
            for name in (
                "name",
                "card_color",
                "card_message",
                "points_per_euro",
                "rounding",
                "points_per_visit",
                "daily_cap",
                "welcome_bonus",
                "birthday_bonus",
                "birthday_days_before",
                "birthday_days_after",
                "expiry_months",
                "expiry_warning_days",
                "point_value",
            )
        }
        initial["enabled"] = program.enabled
        for key, value in program.weekday_multipliers.items():
            initial[f"weekday_{int(key)}"] = _plain(Decimal(str(value)))
        for i, (name, value) in enumerate(categories):
            initial[f"category_{i}_name"] = name
            initial[f"category_{i}_multiplier"] = _plain(Decimal(str(value)))
        return cls(initial=initial, category_rows=len(categories) + EXTRA_CATEGORY_ROWS)

    def weekday_fields(self) -> list[forms.BoundField]:
        return [self[f"weekday_{day}"] for day in range(7)]

    def category_rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [
            (i + 1, self[f"category_{i}_name"], self[f"category_{i}_multiplier"])
            for i in range(self.category_row_count)
        ]

    def service_data(self) -> ProgramInput:
        """What :func:`settings_services.update_program` expects."""
        data = dict(self.cleaned_data)
        data["weekday_multipliers"] = {day: data.pop(f"weekday_{day}", "") for day in range(7)}
        data["category_multipliers"] = [
            (data.pop(f"category_{i}_name", ""), data.pop(f"category_{i}_multiplier", ""))
            for i in range(self.category_row_count)
        ]
        return ProgramInput(**data)


def tier_choices(empty_label: str) -> list[tuple[str, str]]:
    return [("", empty_label)] + [(t.code, t.name) for t in Tier.objects.order_by("threshold")]


class RewardForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    cost = forms.CharField(label=_("Cost in points"), required=False, widget=_number(decimal=False))
    stock = forms.CharField(
        label=_("Stock"),
        required=False,
        widget=_number(decimal=False),
        help_text=_("How many are left; empty: unlimited. It goes down by one at each redemption."),
    )
    valid_from = forms.CharField(
        label=_("Available from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Optional."),
    )
    valid_until = forms.CharField(
        label=_("Available until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Optional; the reward can be taken until the end of this day."),
    )
    # A text field with a select: the service, not the form, refuses an unknown tier.
    min_tier = forms.CharField(
        label=_("Reserved to tier and above"), required=False, widget=forms.Select()
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group_errors: dict[str, list[str]] = {}
        widget = self.fields["min_tier"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = tier_choices(str(_("Every member")))

    @classmethod
    def for_reward(cls, reward: Reward) -> RewardForm:
        return cls(
            initial={
                "name": reward.name,
                "description": reward.description,
                "cost": reward.cost,
                "stock": "" if reward.stock is None else reward.stock,
                "valid_from": reward.valid_from.isoformat() if reward.valid_from else "",
                "valid_until": reward.valid_until.isoformat() if reward.valid_until else "",
                "min_tier": reward.min_tier,
            }
        )


class TierForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), required=False)
    threshold = forms.CharField(
        label=_("Threshold (points over 12 months)"),
        required=False,
        widget=_number(decimal=False),
        help_text=_(
            "Points earned from purchases and visits over the last 12 months that "
            "reach this tier. Two tiers cannot share a threshold."
        ),
    )
    multiplier = forms.CharField(
        label=_("Points multiplier"),
        required=False,
        widget=_number(),
        help_text=_("1 for none; 1.5 gives half as many points again on every purchase."),
    )
    benefits = forms.CharField(
        label=_("Benefits"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What members of this tier get, in a sentence the customer will read."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group_errors: dict[str, list[str]] = {}

    @classmethod
    def for_tier(cls, tier: Tier) -> TierForm:
        return cls(
            initial={
                "name": tier.name,
                "threshold": tier.threshold,
                "multiplier": _plain(Decimal(tier.multiplier)),
                "benefits": tier.benefits,
            }
        )


class SimulateForm(forms.Form):
    """A purchase to try against the current rules (read only: sent with GET)."""

    amount = forms.CharField(
        label=_("Amount"), required=False, widget=_number({"placeholder": "25.00"})
    )
    when = forms.CharField(
        label=_("Date and time"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("In the business's time zone; empty: now."),
    )
    tier = forms.ChoiceField(label=_("Tier of the customer"), required=False)
    LINE_ROWS = 3

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group_errors: dict[str, list[str]] = {}
        field = self.fields["tier"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = tier_choices(str(_("No tier")))
        for i in range(self.LINE_ROWS):
            self.fields[f"line_{i}_category"] = forms.CharField(label=_("Category"), required=False)
            self.fields[f"line_{i}_amount"] = forms.CharField(
                label=_("Amount of the line"), required=False, widget=_number()
            )

    def line_rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [
            (i + 1, self[f"line_{i}_category"], self[f"line_{i}_amount"])
            for i in range(self.LINE_ROWS)
        ]

    def add_service_errors(self, exc: ServiceError) -> None:
        if exc.field == "lines":
            self.group_errors.setdefault("lines", []).append(exc.message)
            return
        # One message (the first problem), next to its field: the counter's form is short.
        apply_service_error(self, ServiceError(exc.code, exc.message, field=exc.field))
