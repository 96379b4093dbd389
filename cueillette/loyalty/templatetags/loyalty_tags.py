"""Display helpers of the loyalty pages: every explanation step as a sentence.

The rules explain themselves with :class:`cueillette.loyalty.rules.Step` (a code and params,
see :class:`~cueillette.loyalty.rules.StepCode`); purchases store them as dicts. Here each
becomes one translated sentence, for staff ("the customer") or for the customer ("you")::

    {% load loyalty_tags %}
    {% for step in earning.steps %}<li>{% explain_step step tier_names %}</li>{% endfor %}
    {% for step in purchase.explanation %}
      <li>{% explain_step step tier_names "customer" %}</li>
    {% endfor %}

Python code can call :func:`explain` directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import formats
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cueillette.loyalty.rules import Step, StepCode

register = template.Library()

STAFF = "staff"
CUSTOMER = "customer"


def _num(value: Any) -> str:
    """A number in the active language (12.5 -> "12,5" in French), exact decimals kept."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    return formats.number_format(number, use_l10n=True, force_grouping=True)


def _int(value: Any) -> int:
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0


def _points(value: Any) -> str:
    """ "12 points", "1 point", "12,5 points" (exact points before rounding)."""
    text = _num(value)
    try:
        exact = Decimal(str(value))
    except (InvalidOperation, ValueError):
        exact = Decimal(2)
    count = int(exact) if exact == exact.to_integral_value() else 2
    return ngettext("%(n)s point", "%(n)s points", count) % {"n": text}


def _date(value: Any) -> str:
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return formats.date_format(day, "DATE_FORMAT")


def _tier(code: Any, names: Mapping[str, str] | None) -> str:
    code = str(code or "")
    if not code:
        return _("no tier")
    return (names or {}).get(code, code)


def _weekday(value: Any) -> str:
    index = _int(value)
    return str(WEEKDAYS.get(index, "")) if 0 <= index <= 6 else ""


def _rounding(mode: str) -> str:
    return {
        "floor": _("rounded down"),
        "half_up": _("rounded to the nearest whole point (halves up)"),
        "half_even": _("rounded to the nearest whole point (halves to the even number)"),
    }.get(mode, mode)


def _code_and_params(step: Any) -> tuple[str, Mapping[str, Any]]:
    if isinstance(step, Step):
        return str(step.code), step.params
    if isinstance(step, Mapping):
        params = step.get("params") or {}
        return str(step.get("code", "")), params if isinstance(params, Mapping) else {}
    return "", {}


def explain(step: Any, tier_names: Mapping[str, str] | None = None, audience: str = STAFF) -> str:
    """One sentence for one explanation step (a :class:`Step` or its ``as_dict()``)."""
    code, p = _code_and_params(step)
    you = audience == CUSTOMER
    if code == StepCode.PURCHASE_POINTS:
        return _(
            "Amount %(amount)s × %(rate)s per euro = %(points)s, before any multiplier."  # noqa: RUF001
        ) % {
            "amount": _num(p.get("amount")),
            "rate": _num(p.get("rate")),
            "points": _points(p.get("points")),
        }
    if code == StepCode.MULTIPLIER:
        line = _int(p.get("line")) + 1
        category = str(p.get("category") or "")
        values = {
            "line": line,
            "amount": _num(p.get("amount")),
            "category": category,
            "multiplier": _num(p.get("multiplier")),
            "day": _weekday(p.get("weekday")),
            "points": _points(p.get("points")),
        }
        if p.get("source") == "weekday":
            if category:
                text = (
                    _(
                        "Line %(line)s (%(amount)s, %(category)s): ×%(multiplier)s because the "  # noqa: RUF001
                        "purchase is on a %(day)s, which gives %(points)s."
                    )
                    % values
                )
            else:
                text = (
                    _(
                        "Line %(line)s (%(amount)s): ×%(multiplier)s because the purchase is on a "  # noqa: RUF001
                        "%(day)s, which gives %(points)s."
                    )
                    % values
                )
        else:
            text = (
                _(
                    "Line %(line)s (%(amount)s, %(category)s): ×%(multiplier)s for the category "  # noqa: RUF001
                    "“%(category)s”, which gives %(points)s."
                )
                % values
            )
        if p.get("ignored"):
            text += " " + _(
                "A ×%(ignored)s multiplier also matched, but multipliers do not add up: only "  # noqa: RUF001
                "the largest one applies."
            ) % {"ignored": _num(p.get("ignored"))}
        return text
    if code == StepCode.TIER_MULTIPLIER:
        return _("The tier %(tier)s multiplies the points by %(multiplier)s: %(points)s.") % {
            "tier": _tier(p.get("tier"), tier_names),
            "multiplier": _num(p.get("multiplier")),
            "points": _points(p.get("points")),
        }
    if code == StepCode.ROUNDING:
        return _("Rounding, once for the whole purchase: %(exact)s %(rule)s gives %(points)s.") % {
            "exact": _num(p.get("exact")),
            "rule": _rounding(str(p.get("mode", ""))),
            "points": _points(p.get("points")),
        }
    if code == StepCode.VISIT:
        return _("Points for the visit: +%(points)s.") % {"points": _points(p.get("points"))}
    if code == StepCode.DAILY_CAP:
        return _(
            "Cap of %(cap)s per day: %(earned)s already earned today, so %(before)s become "
            "%(points)s."
        ) % {
            "cap": _points(p.get("cap")),
            "earned": _points(p.get("earned_today")),
            "before": _points(p.get("before")),
            "points": _points(p.get("points")),
        }
    if code == StepCode.WELCOME:
        return _("Welcome bonus: +%(points)s.") % {"points": _points(p.get("points"))}
    if code == StepCode.BIRTHDAY:
        return _("Birthday bonus (birthday of %(date)s): +%(points)s.") % {
            "date": _date(p.get("birthday")),
            "points": _points(p.get("points")),
        }
    if code == StepCode.BIRTHDAY_SKIPPED:
        reason = str(p.get("reason", ""))
        if reason == "no_birth_date":
            return (
                _("No birthday bonus: you have not given us your birth date.")
                if you
                else _("No birthday bonus: the customer's birth date is not known.")
            )
        if reason == "no_consent":
            return (
                _("No birthday bonus: you have not agreed to personalised offers.")
                if you
                else _("No birthday bonus: the customer has not agreed to personalised offers.")
            )
        if reason == "already_given":
            return _("No birthday bonus: it was already given for this birthday.")
        if p.get("next"):
            return _("No birthday bonus today: the next one can be given from %(date)s.") % {
                "date": _date(p.get("next"))
            }
        return _("No birthday bonus today.")
    if code == StepCode.TOTAL:
        return _("Total: %(points)s.") % {"points": _points(p.get("points"))}
    if code == StepCode.REFUND_PROPORTION:
        return _(
            "Refund of %(amount)s (%(refunded)s of %(total)s refunded in all): of the "
            "%(earned)s this purchase earned, %(taken)s are taken back in all, in proportion "
            "and rounded up; this refund takes back %(points)s."
        ) % {
            "amount": _num(p.get("refund_amount")),
            "refunded": _num(p.get("refunded_total")),
            "total": _num(p.get("purchase_amount")),
            "earned": _points(p.get("earned")),
            "taken": _num(p.get("taken_total")),
            "points": _points(p.get("points")),
        }
    if code == StepCode.ROLLING_TOTAL:
        return _(
            "%(points)s earned from purchases and visits since %(since)s (the last %(months)s "
            "months)."
        ) % {
            "points": _points(p.get("points")),
            "since": _date(p.get("since")),
            "months": _int(p.get("months")),
        }
    if code == StepCode.TIER_REACHED:
        return _("That reaches the tier %(tier)s, which starts at %(threshold)s.") % {
            "tier": _tier(p.get("tier"), tier_names),
            "threshold": _points(p.get("threshold")),
        }
    if code == StepCode.NO_TIER_REACHED:
        return _("No tier yet: the first one starts at %(threshold)s, %(missing)s to go.") % {
            "threshold": _points(p.get("threshold")),
            "missing": _points(p.get("missing")),
        }
    if code == StepCode.NEXT_TIER:
        return _("Next tier: %(tier)s at %(threshold)s, %(missing)s to go.") % {
            "tier": _tier(p.get("tier"), tier_names),
            "threshold": _points(p.get("threshold")),
            "missing": _points(p.get("missing")),
        }
    if code == StepCode.TOP_TIER:
        return _("%(tier)s is the highest tier.") % {"tier": _tier(p.get("tier"), tier_names)}
    if code == StepCode.POINTS_LEAVE_WINDOW:
        return _("%(points)s count until %(date)s, then leave the 12-month count.") % {
            "points": _points(p.get("points")),
            "date": _date(p.get("date")),
        }
    if code == StepCode.TIER_KEPT_UNTIL_REVIEW:
        values = {
            "tier": _tier(p.get("tier"), tier_names),
            "threshold": _points(p.get("threshold")),
            "review": _date(p.get("review")),
        }
        return (
            _(
                "You keep the tier %(tier)s until the review of %(review)s, even though your "
                "total is below its %(threshold)s."
            )
            if you
            else _(
                "The tier %(tier)s is kept until the review of %(review)s, even though the "
                "total is below its %(threshold)s."
            )
        ) % values
    if code == StepCode.TIER_AT_RISK:
        values = {
            "tier": _tier(p.get("tier"), tier_names),
            "threshold": _points(p.get("threshold")),
            "review": _date(p.get("review")),
            "missing": _points(p.get("missing")),
        }
        return (
            _("To keep the tier %(tier)s at the review of %(review)s, earn %(missing)s more.")
            if you
            else _(
                "To keep the tier %(tier)s at the review of %(review)s, %(missing)s more are "
                "needed."
            )
        ) % values
    if code in (StepCode.TIER_UPGRADE, StepCode.TIER_DOWNGRADE):
        values = {"from": _tier(p.get("from"), tier_names), "to": _tier(p.get("to"), tier_names)}
        if code == StepCode.TIER_UPGRADE:
            return _("Moves up from %(from)s to %(to)s.") % values
        return _("Moves down from %(from)s to %(to)s at the monthly review.") % values
    if code == StepCode.TIER_UNCHANGED:
        return _("The tier stays %(tier)s.") % {"tier": _tier(p.get("tier"), tier_names)}
    return code


@register.simple_tag
def explain_step(
    step: Any, tier_names: Mapping[str, str] | None = None, audience: str = STAFF
) -> str:
    """``{% explain_step step tier_names "customer" %}``: the sentence of one step."""
    return explain(step, tier_names if isinstance(tier_names, Mapping) else None, audience)


@register.filter
def points(value: Any) -> str:
    """``{{ n|points }}``: "12 points", "1 point"."""
    return _points(value)


@register.filter
def number(value: Any) -> str:
    """``{{ x|number }}``: a decimal in the active language, exact."""
    return _num(value)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``{{ names|get_item:code }}``: a value of a dict, or "" when missing."""
    if isinstance(mapping, Mapping):
        return mapping.get(key, "")
    return ""
