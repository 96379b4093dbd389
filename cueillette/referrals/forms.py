"""Forms of the staff referral pages: they parse; the services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cueillette.core.errors import ServiceError
from cueillette.core.forms import apply_service_error
from cueillette.core.money import normalize_decimal_text
from cueillette.referrals.models import ReferralProgram


def _num(decimal: bool = False) -> forms.TextInput:
    return forms.TextInput(
        attrs={"inputmode": "decimal" if decimal else "numeric", "autocomplete": "off"}
    )


class AmountField(forms.DecimalField):
    """An amount typed the French or the English way ("12,50", "12.50", "1 200,50"), shown
    the way the page's language writes it ("10,00" in French)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(localize=True, **kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if isinstance(value, str):
            value = normalize_decimal_text(value)  # "1 200,50", "1.200,50", "1,200.50"
        return super().to_python(value)


class ProgramForm(forms.Form):
    enabled = forms.BooleanField(label=_("Referrals are open"), required=False)
    referrer_points = forms.IntegerField(
        label=_("Points for the referrer"),
        min_value=0,
        max_value=100_000,
        widget=_num(),
        help_text=_("Given to the customer who sent a friend, when the friend first buys."),
    )
    friend_points = forms.IntegerField(
        label=_("Welcome points for the friend"),
        min_value=0,
        max_value=100_000,
        widget=_num(),
        help_text=_("Given to the friend at the same moment, if they have a loyalty card."),
    )
    min_amount = AmountField(
        label=_("Minimum amount of the first purchase"),
        min_value=Decimal(0),
        max_digits=10,
        decimal_places=2,
        widget=_num(decimal=True),
        help_text=_("0: any purchase counts. Below this amount, the referral keeps waiting."),
    )
    monthly_cap = forms.IntegerField(
        label=_("Rewarded referrals per referrer per month"),
        min_value=0,
        max_value=1000,
        required=False,
        widget=_num(),
        help_text=_(
            "Beyond it, referrals are still confirmed but the referrer earns nothing more that "
            "month. Leave empty for no limit."
        ),
    )
    burst_count = forms.IntegerField(
        label=_("Burst: more than this many referrals…"),
        min_value=2,
        max_value=1000,
        widget=_num(),
    )
    burst_hours = forms.IntegerField(
        label=_("…within this many hours"),
        min_value=1,
        max_value=24 * 90,
        widget=_num(),
        help_text=_("Referrals from one customer beyond this pace go to your review."),
    )
    review_days = forms.IntegerField(
        label=_("Days to review a flagged referral"), min_value=1, max_value=365, widget=_num()
    )
    default_action = forms.ChoiceField(
        label=_("When a flagged referral is not reviewed in time"),
        choices=ReferralProgram.Default.choices,
        widget=forms.RadioSelect,
    )

    @classmethod
    def for_program(cls, program: ReferralProgram) -> ProgramForm:
        return cls(initial={name: getattr(program, name) for name in cls.base_fields})

    def add_service_error(self, exc: ServiceError) -> None:
        apply_service_error(self, exc)


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("confirm", "confirm"), ("reject", "reject")])
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)


class ThankForm(forms.Form):
    message = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Emailed if the customer has an email and agreed to hear from you."),
    )
    points = forms.IntegerField(
        label=_("Gift of points"),
        required=False,
        min_value=1,
        max_value=10_000,
        widget=_num(),
        help_text=_("Added to their loyalty card as an adjustment with its reason."),
    )
