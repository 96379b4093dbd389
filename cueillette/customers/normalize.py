"""Normalising what people type: emails, phone numbers (E.164), names for search."""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from cueillette.core.errors import ServiceError
from cueillette.customers.errors import Code

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lowercase, strip accents and punctuation: 'Hélène-Marie ' -> 'helene marie'."""
    if text.isascii():  # nothing to decompose (most names of a file)
        return _NOT_ALNUM.sub(" ", text.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = _NOT_ALNUM.sub(" ", ascii_only.lower())
    return cleaned.strip()


# A birthday exported without its year (Mailchimp writes "MM/DD") is stored in this leap year,
# so 29 February survives; loyalty only ever reads the month and day of a birthday.
UNKNOWN_BIRTH_YEAR = 1904
_EMAIL_FORBIDDEN = re.compile(r"[\s,;<>()\[\]\\\"]")


def email_problem(value: str) -> str:
    """Why ``value`` is not an email address, in words (empty when no obvious reason is found)."""
    if "@" not in value:
        return _("missing @")
    if value.count("@") > 1:
        return _("more than one @")
    local, _sep, domain = value.partition("@")
    if not local:
        return _("nothing before the @")
    if not domain:
        return _("nothing after the @")
    bad = _EMAIL_FORBIDDEN.search(value)
    if bad:
        char = bad.group(0)
        return (
            _("contains a space")
            if char.isspace()
            else _("contains the character %(char)s") % {"char": char}
        )
    if "." not in domain:
        return _("the domain %(domain)s has no dot") % {"domain": domain}
    if ".." in value or domain.startswith(".") or domain.endswith(".") or local.endswith("."):
        return _("a dot is misplaced")
    return ""


def normalize_email(value: str, field: str = "email") -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if field == "email":
        return _normalized_email(value)
    return _normalize_email(value, field)


@functools.lru_cache(maxsize=50_000)
def _normalized_email(value: str) -> str:
    """:func:`_normalize_email` of the ``email`` field, remembered: a sales history names the
    same customers again and again, and Django's validator is the slowest step of reading an
    email. Only valid addresses are remembered (an error is raised again, in the current
    language, every time)."""
    return _normalize_email(value, "email")


def _normalize_email(value: str, field: str) -> str:
    if len(value) > 254:
        raise ServiceError(
            Code.TOO_LONG, _("email is too long (254 characters at most)"), field=field
        )
    problem = email_problem(value)
    if problem:
        raise ServiceError(
            Code.INVALID_EMAIL,
            _("email is not valid: %(reason)s") % {"reason": problem},
            field=field,
        )
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ServiceError(
            Code.INVALID_EMAIL,
            _("email is not valid: %(value)s is not an address") % {"value": value},
            field=field,
        ) from exc
    local, _sep, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}".lower()


# "+33 (0)6 12 34 56 78": the trunk 0 in brackets after a country code is not dialled.
_TRUNK_IN_BRACKETS = re.compile(r"^(\s*(?:\+|00)\d{1,3})\s*\(0\)")


def _country_name(parsed: phonenumbers.PhoneNumber, region: str) -> str:
    code = phonenumbers.region_code_for_number(parsed) or region
    return code or "?"


# French numbers as people type them ("06 12 34 56 78", "+33 (0)6…", "0033 6…"): read without
# the phone library's full parser, the slowest step of an import. Whether a French number is
# in an allocated range depends on its first digits only (the library's patterns for France
# look at three), so the answer is remembered per four-digit prefix.
_FRENCH = re.compile(r"^(?:(?:\+|00)33\(?0?\)?|0)([1-9]\d{8})$")
_FRENCH_SEPARATORS = re.compile(r"[\s.\-/]")
_french_ranges: dict[str, bool] = {}


def _french_fast(value: str, region: str) -> str | None:
    compact = _FRENCH_SEPARATORS.sub("", value)
    if compact.startswith("0") and not compact.startswith("00") and region != "FR":
        return None  # a national number of another country
    m = _FRENCH.match(compact)
    return m.group(1) if m else None


def parse_phone(value: str, region: str = "FR", field: str = "phone") -> tuple[str, str]:
    """``(E.164, warning)`` for what a person typed, or a ServiceError saying the true reason.

    A number with the right length for its country but in a range the phone library does not
    know (new ranges reach customers before the library's data) is kept, with a warning.
    """
    value = (value or "").strip().lstrip("'")
    if not value:
        return "", ""
    nsn = _french_fast(value, (region or "FR").upper()) if len(value) <= 32 else None
    if nsn is not None:
        known = _french_ranges.get(nsn[:4])
        if known is None:
            number = phonenumbers.PhoneNumber(country_code=33, national_number=int(nsn))
            known = _french_ranges[nsn[:4]] = bool(phonenumbers.is_valid_number(number))
        e164 = "+33" + nsn
        if known:
            return e164, ""
        return e164, _(
            "phone %(number)s has the right number of digits for %(country)s but is not in "
            "a range the phone library knows: kept, please check it"
        ) % {"number": e164, "country": "FR"}
    if len(value) > 32:
        raise ServiceError(Code.TOO_LONG, _("phone is too long"), field=field)
    if re.search(r"[A-Za-z]", value.replace("ext", "").replace("x", "")):
        raise ServiceError(
            Code.INVALID_PHONE, _("phone is not valid: it contains letters"), field=field
        )
    value = _TRUNK_IN_BRACKETS.sub(r"\1 ", value)
    region = (region or "FR").upper()
    try:
        parsed = phonenumbers.parse(value, region if len(region) == 2 else "FR")
    except phonenumbers.NumberParseException as exc:
        reason = {
            phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: _("unknown country code"),
            phonenumbers.NumberParseException.TOO_SHORT_NSN: _("too few digits"),
            phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: _("too few digits"),
            phonenumbers.NumberParseException.TOO_LONG: _("too many digits"),
        }.get(exc.error_type, _("not a phone number"))
        raise ServiceError(
            Code.INVALID_PHONE,
            _("phone is not valid: %(reason)s") % {"reason": reason},
            field=field,
        ) from exc
    digits = str(phonenumbers.national_significant_number(parsed))
    country = _country_name(parsed, region)
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    VR = phonenumbers.ValidationResult
    if possible in (VR.IS_POSSIBLE, VR.IS_POSSIBLE_LOCAL_ONLY):
        e164 = str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
        if phonenumbers.is_valid_number(parsed):
            return e164, ""
        return e164, _(
            "phone %(number)s has the right number of digits for %(country)s but is not in "
            "a range the phone library knows: kept, please check it"
        ) % {"number": e164, "country": country}
    reason = {
        VR.INVALID_COUNTRY_CODE: _("unknown country code +%(code)s")
        % {"code": parsed.country_code},
        VR.TOO_SHORT: _("too short for %(country)s (%(n)d digits after the country code)"),
        VR.TOO_LONG: _("too long for %(country)s (%(n)d digits after the country code)"),
        VR.INVALID_LENGTH: _(
            "%(n)d digits after the country code is not a length used in %(country)s"
        ),
    }.get(possible, _("not a phone number"))
    if "%(" in reason:
        reason = reason % {"country": country, "n": len(digits)}
    raise ServiceError(
        Code.INVALID_PHONE, _("phone is not valid: %(reason)s") % {"reason": reason}, field=field
    )


def normalize_phone(value: str, region: str = "FR", field: str = "phone") -> str:
    """Return the E.164 form ('+33612345678') or raise a ServiceError naming the field."""
    return parse_phone(value, region, field)[0]


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
