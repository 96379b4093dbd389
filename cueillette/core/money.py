"""Money: a Decimal and a currency, parsed once and written one way.

Amounts are never floats. :func:`parse_decimal` reads what people type ("12,50", "12.50",
"1 200,50", "1.200,50", "1,200.50", non-breaking spaces); :func:`format_money` writes an amount
the way the page's language does ("12,50 €" in French, "€12.50" in English); :func:`api_amount`
is the API's fixed form ("12.50").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django.utils.translation import get_language

SPACES = (" ", "\u00a0", "\u202f")


def normalize_decimal_text(text: str) -> str:
    """``text`` with spaces gone and one "." as the decimal separator (the last of "," and
    "." when both appear: "1.200,50" and "1,200.50" both read 1200.50)."""
    value = text.strip()
    for space in SPACES:
        value = value.replace(space, "")
    if "," in value and "." in value:
        thousands = "." if value.rfind(",") > value.rfind(".") else ","
        value = value.replace(thousands, "")
    return value.replace(",", ".")


def parse_decimal(value: object) -> Decimal:
    """A finite Decimal from typed text or a number; ``InvalidOperation`` otherwise."""
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, float):
        amount = Decimal(str(value))  # the float's shortest repr, not its binary expansion
    else:
        amount = Decimal(normalize_decimal_text(str(value)))
    if not amount.is_finite():
        raise InvalidOperation(str(value))
    return amount


def format_money(amount: Decimal | str | int, currency: str, *, language: str | None = None) -> str:
    """``12,50 €`` in French, ``€12.50`` in English (the active language unless given)."""
    try:
        value = parse_decimal(amount)
    except (InvalidOperation, ValueError):
        return str(amount)
    locale = (language or get_language() or "fr")[:2]
    return str(format_currency(value, currency, locale=locale))


def api_amount(value: Decimal | str | int) -> str:
    """Two decimals, a dot, no grouping: what the API returns ("12.50")."""
    return f"{Decimal(value):.2f}"


@dataclass(frozen=True)
class Money:
    """An amount in a currency; ``str()`` writes it in the active language."""

    amount: Decimal
    currency: str

    @classmethod
    def parse(cls, value: object, currency: str) -> Money:
        return cls(parse_decimal(value), currency)

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)
