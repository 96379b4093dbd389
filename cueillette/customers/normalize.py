"""Normalising what people type: emails, phone numbers (E.164), names for search."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from cueillette.core.errors import ServiceError
from cueillette.customers.errors import Code


def fold(text: str) -> str:
    """Lowercase, strip accents and punctuation: 'Hélène-Marie ' -> 'helene marie'."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = re.sub(r"[^a-z0-9]+", " ", ascii_only.lower())
    return cleaned.strip()


def normalize_email(value: str, field: str = "email") -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 254:
        raise ServiceError(
            Code.TOO_LONG, _("email is too long (254 characters at most)"), field=field
        )
    if "@" not in value:
        raise ServiceError(Code.INVALID_EMAIL, _("email is not valid: missing @"), field=field)
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ServiceError(
            Code.INVALID_EMAIL, _("email is not valid: %(value)s") % {"value": value}, field=field
        ) from exc
    local, _sep, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}".lower()


def normalize_phone(value: str, region: str = "FR", field: str = "phone") -> str:
    """Return the E.164 form ('+33612345678') or raise a ServiceError naming the field."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 32:
        raise ServiceError(Code.TOO_LONG, _("phone is too long"), field=field)
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ServiceError(
            Code.INVALID_PHONE, _("phone is not valid: not a phone number"), field=field
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ServiceError(
            Code.INVALID_PHONE,
            _("phone is not valid: wrong number of digits for this country"),
            field=field,
        )
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def phone_search_key(e164: str) -> str:
    """National significant digits, so '06 12 34 56 78' and '+33 6 12…' both find it."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return re.sub(r"\D", "", e164)
    return str(phonenumbers.national_significant_number(parsed))


def display_phone(e164: str) -> str:
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if parsed.country_code == 33:
        return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


def search_digits(query: str) -> str:
    """What a phone search compares: the digits without the trunk '0' or country code."""
    digits = re.sub(r"\D", "", query)
    if query.strip().startswith("+") and digits.startswith("33"):
        digits = digits[2:]
    elif digits.startswith("0033"):
        digits = digits[4:]
    if digits.startswith("0"):
        digits = digits[1:]
    return digits
