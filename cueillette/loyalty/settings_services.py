"""Program settings (owner/manager): the look and rules of the card, rewards, tiers.

Every function is a write: atomic, audited (``loyalty.program_updated``,
``loyalty.reward_created`` / ``loyalty.reward_updated`` / ``loyalty.reward_deleted``,
``loyalty.tier_created`` / ``loyalty.tier_updated``, ``loyalty.report_exported``), and refuses
bad input with a :class:`~cueillette.core.errors.ServiceError` whose ``errors`` name each field
at fault. The earning rules are validated by :class:`cueillette.loyalty.rules.EarnRules`
itself, so a program that the rules would refuse can never be saved.

Input values are what a form posts (text); the same functions serve an API later.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from cueillette.core import audit, permissions
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.inputs import given
from cueillette.core.permissions import Perm
from cueillette.loyalty import rules
from cueillette.loyalty.errors import Code
from cueillette.loyalty.models import Program, Redemption, Reward, Tier
from cueillette.loyalty.services import get_program

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_WARNING_DAYS = 365
MAX_POINT_VALUE = Decimal("1000")
MAX_TIER_THRESHOLD = 10**9


class _Errors:
    """Collects field errors so a form shows every problem at once."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field: str, message: str) -> None:
        if not any(e["field"] == field for e in self.items):
            self.items.append({"field": field, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            raise ServiceError(
                Code.INVALID, first["message"], field=first["field"], errors=list(self.items)
            )


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw).strip()


def _parse_int(
    errors: _Errors,
    raw: Any,
    field: str,
    label: str,
    *,
    low: int,
    high: int,
    optional: bool = False,
) -> int | None:
    text = _text(raw)
    if not text:
        if optional:
            return None
        errors.add(field, _("%(label)s is required") % {"label": label})
        return None
    try:
        value = int(text)
    except ValueError:
        errors.add(
            field,
            _("%(label)s is not valid: expected a whole number from %(low)s to %(high)s")
            % {"label": label, "low": low, "high": high},
        )
        return None
    if not low <= value <= high:
        errors.add(
            field,
            _("%(label)s is not valid: expected a whole number from %(low)s to %(high)s")
            % {"label": label, "low": low, "high": high},
        )
        return None
    return value


def _parse_decimal(
    errors: _Errors,
    raw: Any,
    field: str,
    label: str,
    *,
    low: Decimal,
    high: Decimal,
    low_inclusive: bool = True,
    places: int = 3,
) -> Decimal | None:
    text = _text(raw).replace(",", ".").replace("\u00a0", "").replace(" ", "")
    if not text:
        errors.add(field, _("%(label)s is required") % {"label": label})
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    finite = value.is_finite()
    above = finite and (value > low if not low_inclusive else value >= low)
    if not finite or not above or value > high:
        if low_inclusive:
            message = _("%(label)s is not valid: expected a number from %(low)s to %(high)s")
        else:
            message = _("%(label)s is not valid: expected a number above %(low)s, at most %(high)s")
        errors.add(field, message % {"label": label, "low": low, "high": high})
        return None
    if value != value.quantize(Decimal(1).scaleb(-places)):
        errors.add(
            field,
            _("%(label)s is not valid: at most %(n)d decimals") % {"label": label, "n": places},
        )
        return None
    return value


def _parse_date(errors: _Errors, raw: Any, field: str, label: str) -> dt.date | None:
    text = _text(raw)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.add(
            field,
            _("%(label)s is not valid: expected a date such as 2026-05-31") % {"label": label},
        )
        return None


def _short_text(
    errors: _Errors, raw: Any, field: str, label: str, *, max_length: int, required: bool = False
) -> str:
    text = _text(raw)
    if required and not text:
        errors.add(field, _("%(label)s is required") % {"label": label})
    elif len(text) > max_length:
        errors.add(
            field,
            _("%(label)s is too long: %(n)d characters at most")
            % {"label": label, "n": max_length},
        )
    return text


def _truthy(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    return _text(raw).lower() in ("1", "on", "true", "yes")


def _changed(obj: Any, values: Mapping[str, Any]) -> list[str]:
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            changed.append(name)
            setattr(obj, name, value)
    return changed


# --------------------------------------------------------------------------- program settings


PROGRAM_FIELDS = (
    "name",
    "card_color",
    "card_message",
    "enabled",
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
    "weekday_multipliers",
    "category_multipliers",
)


def _parse_weekdays(errors: _Errors, raw: Mapping[Any, Any] | None) -> dict[str, str]:
    """``{weekday (0 = Monday): multiplier}``; empty values mean no multiplier that day."""
    from django.utils.dates import WEEKDAYS

    out: dict[str, str] = {}
    for key, value in (raw or {}).items():
        if not _text(value):
            continue
        try:
            weekday = int(key)
        except (TypeError, ValueError):
            weekday = -1
        if not 0 <= weekday <= 6:
            errors.add("weekday_multipliers", _("multiplier by weekday: unknown day"))
            continue
        label = _("multiplier for %(day)s") % {"day": WEEKDAYS[weekday]}
        multiplier = _parse_decimal(
            errors,
            value,
            "weekday_multipliers",
            label,
            low=Decimal(0),
            high=rules.MAX_MULTIPLIER,
            low_inclusive=False,
            places=2,
        )
        if multiplier is not None:
            out[str(weekday)] = str(multiplier)
    return out


def _parse_categories(
    errors: _Errors, raw: Iterable[tuple[Any, Any]] | Mapping[Any, Any] | None
) -> dict[str, str]:
    """Rows of ``(category, multiplier)``; a row with neither is ignored."""
    rows = raw.items() if isinstance(raw, Mapping) else (raw or [])
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name_raw, value in rows:
        name, text = _text(name_raw), _text(value)
        if not name and not text:
            continue
        if not name:
            errors.add(
                "category_multipliers",
                _("multiplier by product category: a row has a multiplier but no category"),
            )
            continue
        if len(name) > 60:
            errors.add(
                "category_multipliers",
                _("multiplier by product category: category %(c)s is too long (60 at most)")
                % {"c": name[:20] + "…"},
            )
            continue
        key = rules.normalize_category(name)
        if key in seen:
            errors.add(
                "category_multipliers",
                _("multiplier by product category: category %(c)s appears twice") % {"c": name},
            )
            continue
        seen.add(key)
        label = _("multiplier for category %(c)s") % {"c": name}
        multiplier = _parse_decimal(
            errors,
            text,
            "category_multipliers",
            label,
            low=Decimal(0),
            high=rules.MAX_MULTIPLIER,
            low_inclusive=False,
            places=2,
        )
        if multiplier is not None:
            out[name] = str(multiplier)
    return out


#: A field as the page sends it (text) or a caller gives it (a number); checked here.
Raw = str | int | Decimal | None
CategoryRows = Iterable[tuple[Any, Any]] | Mapping[Any, Any] | None


@dataclass(frozen=True)
class ProgramInput:
    """The program's settings, as typed (the whole form); every field is checked once, by
    :func:`clean_program_data`, and every bad one reported. ``weekday_multipliers`` maps a
    weekday (0 = Monday) to a multiplier; ``category_multipliers`` is (name, multiplier)
    rows."""

    name: Raw = None
    card_color: Raw = None
    card_message: Raw = None
    enabled: bool | str | None = None
    points_per_euro: Raw = None
    rounding: Raw = None
    points_per_visit: Raw = None
    daily_cap: Raw = None
    welcome_bonus: Raw = None
    birthday_bonus: Raw = None
    birthday_days_before: Raw = None
    birthday_days_after: Raw = None
    expiry_months: Raw = None
    expiry_warning_days: Raw = None
    point_value: Raw = None
    weekday_multipliers: Mapping[Any, Any] | None = None
    category_multipliers: CategoryRows = None


@dataclass(frozen=True)
class RewardInput:
    """A reward of the catalogue, as typed (checked by the action)."""

    name: Raw = None
    description: Raw = None
    cost: Raw = None
    stock: Raw = None
    valid_from: dt.date | str | None = None
    valid_until: dt.date | str | None = None
    min_tier: Raw = None


@dataclass(frozen=True)
class TierInput:
    """A tier, as typed (checked by the action)."""

    name: Raw = None
    threshold: Raw = None
    multiplier: Raw = None
    benefits: Raw = None


def clean_program_data(inp: ProgramInput) -> dict[str, Any]:
    """Parse and validate the settings form; returns model field values or raises."""
    data = given(inp)
    errors = _Errors()
    values: dict[str, Any] = {
        "name": _short_text(
            errors, data.get("name"), "name", _("Program name"), max_length=80, required=True
        ),
        "card_message": _short_text(
            errors,
            data.get("card_message"),
            "card_message",
            _("Message on the card"),
            max_length=140,
        ),
        "enabled": _truthy(data.get("enabled")),
    }
    color = _text(data.get("card_color"))
    if not COLOR_RE.match(color):
        errors.add(
            "card_color",
            _("Card colour is not valid: expected a colour such as #2f6b4f"),
        )
    values["card_color"] = color.lower()
    values["points_per_euro"] = _parse_decimal(
        errors,
        data.get("points_per_euro"),
        "points_per_euro",
        _("Points per euro"),
        low=Decimal(0),
        high=rules.MAX_RATE,
    )
    rounding = _text(data.get("rounding"))
    if rounding not in {r.value for r in rules.Rounding}:
        errors.add("rounding", _("Rounding is not valid: choose one of the proposed rules"))
    values["rounding"] = rounding
    bonus = rules.MAX_BONUS
    for field, label in (
        ("points_per_visit", _("Points per visit")),
        ("welcome_bonus", _("Welcome bonus")),
        ("birthday_bonus", _("Birthday bonus")),
    ):
        values[field] = _parse_int(errors, data.get(field), field, label, low=0, high=bonus)
    values["daily_cap"] = _parse_int(
        errors,
        data.get("daily_cap"),
        "daily_cap",
        _("Cap per day"),
        low=0,
        high=bonus,
        optional=True,
    )
    window = rules.MAX_BIRTHDAY_WINDOW_DAYS
    values["birthday_days_before"] = _parse_int(
        errors,
        data.get("birthday_days_before"),
        "birthday_days_before",
        _("Days before the birthday"),
        low=0,
        high=window,
    )
    values["birthday_days_after"] = _parse_int(
        errors,
        data.get("birthday_days_after"),
        "birthday_days_after",
        _("Days after the birthday"),
        low=0,
        high=window,
    )
    values["expiry_months"] = _parse_int(
        errors,
        data.get("expiry_months"),
        "expiry_months",
        _("Points expire after (months)"),
        low=1,
        high=rules.MAX_EXPIRY_MONTHS,
        optional=True,
    )
    values["expiry_warning_days"] = _parse_int(
        errors,
        data.get("expiry_warning_days"),
        "expiry_warning_days",
        _("Warn before expiry (days)"),
        low=0,
        high=MAX_WARNING_DAYS,
    )
    values["point_value"] = _parse_decimal(
        errors,
        data.get("point_value"),
        "point_value",
        _("Value of one point"),
        low=Decimal(0),
        high=MAX_POINT_VALUE,
        places=4,
    )
    values["weekday_multipliers"] = _parse_weekdays(errors, data.get("weekday_multipliers"))
    values["category_multipliers"] = _parse_categories(errors, data.get("category_multipliers"))
    errors.raise_if_any()
    # The rules have the last word: whatever they refuse names its field.
    try:
        rules.EarnRules(
            points_per_euro=values["points_per_euro"],
            rounding=rules.Rounding(values["rounding"]),
            points_per_visit=values["points_per_visit"],
            weekday_multipliers={
                int(k): Decimal(v) for k, v in values["weekday_multipliers"].items()
            },
            category_multipliers={k: Decimal(v) for k, v in values["category_multipliers"].items()},
            daily_cap=values["daily_cap"],
            welcome_bonus=values["welcome_bonus"],
            birthday_bonus=values["birthday_bonus"],
            birthday_days_before=values["birthday_days_before"],
            birthday_days_after=values["birthday_days_after"],
        )
    except rules.RuleError as exc:
        raise ServiceError(
            exc.code,
            exc.message,
            field=exc.field,
            errors=[{"field": exc.field, "message": exc.message}],
        ) from exc
    return values


@transaction.atomic
def update_program(data: ProgramInput, *, actor: Actor) -> Program:
    """Save the program's look and rules. Points already earned keep their expiry date."""
    permissions.require(actor, Perm.MANAGE_PROGRAM)
    values = clean_program_data(data)
    program = Program.objects.select_for_update().get(pk=get_program().pk)
    changed = _changed(program, values)
    if changed:
        program.save()
        audit.record(actor, "loyalty.program_updated", program, changed=changed)
    return program


# --------------------------------------------------------------------------- rewards


def _clean_reward(inp: RewardInput) -> dict[str, Any]:
    data = given(inp)
    errors = _Errors()
    values: dict[str, Any] = {
        "name": _short_text(
            errors, data.get("name"), "name", _("Name"), max_length=100, required=True
        ),
        "description": _short_text(
            errors, data.get("description"), "description", _("Description"), max_length=300
        ),
        "cost": _parse_int(
            errors, data.get("cost"), "cost", _("Cost in points"), low=1, high=rules.MAX_BONUS
        ),
        "stock": _parse_int(
            errors,
            data.get("stock"),
            "stock",
            _("Stock"),
            low=0,
            high=rules.MAX_BONUS,
            optional=True,
        ),
        "valid_from": _parse_date(
            errors, data.get("valid_from"), "valid_from", _("Available from")
        ),
        "valid_until": _parse_date(
            errors, data.get("valid_until"), "valid_until", _("Available until")
        ),
        "min_tier": _text(data.get("min_tier")),
    }
    if (
        values["valid_from"] is not None
        and values["valid_until"] is not None
        and values["valid_until"] < values["valid_from"]
    ):
        errors.add(
            "valid_until",
            _("Available until is not valid: it is before the first day it is available"),
        )
    if values["min_tier"] and not Tier.objects.filter(code=values["min_tier"]).exists():
        errors.add("min_tier", _("Reserved to tier is not valid: this tier does not exist"))
    errors.raise_if_any()
    return values


@transaction.atomic
def create_reward(data: RewardInput, *, actor: Actor) -> Reward:
    permissions.require(actor, Perm.MANAGE_PROGRAM)
    values = _clean_reward(data)
    reward = Reward.objects.create(**values)
    audit.record(actor, "loyalty.reward_created", reward, cost=reward.cost, stock=reward.stock)
    return reward


@transaction.atomic
def update_reward(reward: Reward, data: RewardInput, *, actor: Actor) -> Reward:
    permissions.require(actor, Perm.MANAGE_PROGRAM)
    values = _clean_reward(data)
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    changed = _changed(reward, values)
    if changed:
        reward.save()
        audit.record(actor, "loyalty.reward_updated", reward, changed=changed)
    return reward


@transaction.atomic
def set_reward_active(reward: Reward, active: bool, *, actor: Actor) -> Reward:
    """Withdraw a reward from the catalogue (or offer it again). Its history stays."""
    permissions.require(actor, Perm.MANAGE_PROGRAM)
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    if reward.active != active:
        reward.active = active
        reward.save(update_fields=["active"])
        audit.record(actor, "loyalty.reward_updated", reward, changed=["active"], active=active)
    return reward


def reward_was_redeemed(reward: Reward) -> bool:
    return Redemption.objects.filter(reward=reward).exists()


@transaction.atomic
def delete_reward(reward: Reward, *, actor: Actor) -> None:
    """Delete a reward nobody ever took; one that was redeemed can only be withdrawn."""
    permissions.require(actor, Perm.MANAGE_PROGRAM)
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    if reward_was_redeemed(reward):
        raise ServiceError(
            Code.INVALID,
            _("This reward was already taken by customers: withdraw it instead of deleting it."),
            field="reward",
        )
    audit.record(actor, "loyalty.reward_deleted", reward, cost=reward.cost)
    reward.delete()


# --------------------------------------------------------------------------- tiers


def _clean_tier(inp: TierInput, *, exclude_pk: int | None) -> dict[str, Any]:
    data = given(inp)
    errors = _Errors()
    values: dict[str, Any] = {
        "name": _short_text(
            errors, data.get("name"), "name", _("Name"), max_length=60, required=True
        ),
        "threshold": _parse_int(
            errors,
            data.get("threshold"),
            "threshold",
            _("Threshold"),
            low=0,
            high=MAX_TIER_THRESHOLD,
        ),
        "multiplier": _parse_decimal(
            errors,
            data.get("multiplier"),
            "multiplier",
            _("Points multiplier"),
            low=Decimal(0),
            high=rules.MAX_MULTIPLIER,
            low_inclusive=False,
            places=2,
        ),
        "benefits": _short_text(
            errors, data.get("benefits"), "benefits", _("Benefits"), max_length=300
        ),
    }
    if values["threshold"] is not None:
        others = Tier.objects.filter(threshold=values["threshold"])
        if exclude_pk is not None:
            others = others.exclude(pk=exclude_pk)
        if others.exists():
            errors.add(
                "threshold",
                _("Threshold is not valid: another tier already starts at %(n)d points")
                % {"n": values["threshold"]},
            )
    errors.raise_if_any()
    return values


def _new_tier_code(name: str) -> str:
    base = (slugify(name) or "tier")[:24].strip("-") or "tier"
    code, n = base, 2
    while Tier.objects.filter(code=code).exists():
        code = f"{base}-{n}"
        n += 1
    return code


def _check_tier_set() -> None:
    try:
        rules.sort_tiers(t.as_rule() for t in Tier.objects.all())
    except rules.RuleError as exc:
        raise ServiceError(exc.code, exc.message, field="threshold") from exc


def _threshold_taken() -> ServiceError:
    message = _("Threshold is not valid: another tier already starts at this number of points")
    return ServiceError(
        Code.INVALID,
        message,
        field="threshold",
        errors=[{"field": "threshold", "message": message}],
    )


@transaction.atomic
def create_tier(data: TierInput, *, actor: Actor) -> Tier:
    """A new tier. Its code (used by cards and rewards) is derived from the name, once."""
    permissions.require(actor, Perm.MANAGE_PROGRAM)
    values = _clean_tier(data, exclude_pk=None)
    try:
        with transaction.atomic():
            tier = Tier.objects.create(code=_new_tier_code(values["name"]), **values)
    except IntegrityError as exc:  # a concurrent tier took the threshold
        raise _threshold_taken() from exc
    _check_tier_set()
    audit.record(
        actor,
        "loyalty.tier_created",
        tier,
        code=tier.code,
        threshold=tier.threshold,
        multiplier=str(tier.multiplier),
    )
    return tier


@transaction.atomic
def update_tier(tier: Tier, data: TierInput, *, actor: Actor) -> Tier:
    """Change a tier. Members keep their tier until earning upgrades them or the monthly
    review sets it again (a raised threshold never downgrades anybody between reviews)."""
    permissions.require(actor, Perm.MANAGE_PROGRAM)
    values = _clean_tier(data, exclude_pk=tier.pk)
    tier = Tier.objects.select_for_update().get(pk=tier.pk)
    changed = _changed(tier, values)
    if changed:
        try:
            with transaction.atomic():
                tier.save()
        except IntegrityError as exc:
            raise _threshold_taken() from exc
        _check_tier_set()
        audit.record(
            actor,
            "loyalty.tier_updated",
            tier,
            changed=changed,
            threshold=tier.threshold,
            multiplier=str(tier.multiplier),
        )
    return tier


# --------------------------------------------------------------------------- reports


@transaction.atomic
def log_report_export(actor: Actor, *, rows: int) -> None:
    """Audit a download of the program report (figures only, no personal data)."""
    permissions.require(actor, Perm.VIEW_LOYALTY_REPORTS)
    audit.record(actor, "loyalty.report_exported", object_type="loyalty_report", rows=rows)
