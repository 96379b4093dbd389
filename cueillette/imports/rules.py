"""Pure functions reading what other tools write: dates, amounts, yes/no, postal codes.

No database, no clock: each returns a value or raises ``ValueError`` with the reason in words.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from cueillette.customers.normalize import UNKNOWN_BIRTH_YEAR

YES = frozenset({"yes", "y", "oui", "o", "1", "true", "vrai", "x", "subscribed", "opted_in"})
NO = frozenset(
    {"no", "n", "non", "0", "false", "faux", "unsubscribed", "not_subscribed", "opted_out", ""}
)


def yes_no(text: str) -> bool | None:
    """True / False for a yes or no cell, None for an empty one; ValueError otherwise."""
    value = (text or "").strip().lower()
    if not value:
        return None
    if value in YES:
        return True
    if value in NO:
        return False
    raise ValueError(_("must be yes or no, not %(value)s") % {"value": text[:40]})


_MONTH_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})$")
_SLASHED = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


def _valid(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(
            _("%(day)02d/%(month)02d is not a day of the calendar") % {"day": day, "month": month}
        ) from None


def parse_date(text: str, *, month_first: bool = False) -> dt.date | None:
    """A date as the tools write it: ISO ``2024-07-13``, ``13/07/2024`` (or ``07/13/2024`` with
    ``month_first``), a Mailchimp birthday ``07/13`` (month/day, year unknown)."""
    value = (text or "").strip()
    if not value:
        return None
    if "/" not in value:  # never ISO: skip the exception of a failed attempt
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    m = _MONTH_DAY.match(value)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        month, day = (a, b) if month_first else (b, a)
        return _valid(UNKNOWN_BIRTH_YEAR, month, day)
    m = _SLASHED.match(value)
    if m:
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        month, day = (a, b) if month_first else (b, a)
        if not month_first and month > 12 and day <= 12:
            month, day = day, month  # 07/31/2024 in a day-first file: clearly month first
        return _valid(year, month, day)
    raise ValueError(
        _("%(value)s is not a date (expected YYYY-MM-DD, DD/MM/YYYY or MM/DD)")
        % {"value": value[:30]}
    )


def parse_moment(text: str, *, default_tz: dt.tzinfo = dt.UTC) -> dt.datetime | None:
    """A date-time such as Mailchimp's ``2023-03-14 09:12:44`` (UTC) or ISO with an offset."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace(" UTC", "").replace("Z", "+00:00"))
    except ValueError:
        day = parse_date(value)
        assert day is not None
        moment = dt.datetime.combine(day, dt.time(12, 0))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_tz)
    return moment


_AMOUNT_CLEAN = re.compile(r"[\s\u00a0\u202f€$£]|EUR|USD|GBP|CHF", re.IGNORECASE)


def parse_amount(text: str) -> Decimal | None:
    """``€12,50``, ``$1,234.50``, ``1 234,50``, ``(12.50)`` and ``-12,50`` (negative)."""
    value = (text or "").strip()
    if not value:
        return None
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    value = _AMOUNT_CLEAN.sub("", value)
    if value.startswith("-"):
        negative, value = True, value[1:]
    elif value.endswith("-"):
        negative, value = True, value[:-1]
    if "," in value and "." in value:
        # The last separator is the decimal one: 1.234,50 or 1,234.50.
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    elif "," in value:
        head, _sep, tail = value.rpartition(",")
        value = (
            value.replace(",", "")
            if len(tail) == 3 and value.count(",") >= 1 and "," in head
            else head.replace(",", "") + "." + tail
        )
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(_("%(value)s is not an amount") % {"value": text[:30]}) from None
    if not amount.is_finite():
        raise ValueError(_("%(value)s is not an amount") % {"value": text[:30]})
    amount = amount.quantize(Decimal("0.01"))
    return -amount if negative else amount


def restore_postal_code(text: str, country: str) -> tuple[str, bool]:
    """A French postal code that a spreadsheet read as a number lost its leading zero
    (``1000`` for ``01000``): restored. Returns the code and whether it was restored."""
    value = (text or "").strip().lstrip("'")
    if (country or "FR").upper() in ("FR", "FRA", "FRANCE", "") and re.fullmatch(r"\d{4}", value):
        return "0" + value, True
    return value, False


def mailchimp_tags(text: str) -> list[str]:
    """Mailchimp writes tags as ``"VIP","Newsletter"``; other tools as ``VIP, Newsletter``."""
    parts = re.split(r'"\s*,\s*"|,', (text or "").strip())
    return [p.strip().strip('"').strip() for p in parts if p.strip().strip('"').strip()]
