"""The time-zone field: the few zones likely for the business's country first, then every zone.

The country is read from what we know: the organization's current zone (settings), else the
region of the browser's language (``fr-BE``), else the interface language (French → France).
Zones per country come from the CLDR data Babel ships; France adds its overseas departments
and territories, which the CLDR files under their own codes.
"""

from __future__ import annotations

import functools
import re

from babel.core import get_global
from django.http import HttpRequest

from cueillette.core.models import TIMEZONES

# Overseas France: separate CLDR territories, but a French business may well be there.
FRANCE_OVERSEAS = (
    "America/Guadeloupe",
    "America/Martinique",
    "America/Cayenne",
    "Indian/Reunion",
    "Indian/Mayotte",
    "Pacific/Noumea",
    "Pacific/Tahiti",
    "America/Miquelon",
)
LANGUAGE_COUNTRY = {"fr": "FR", "en": "GB"}
_REGION = re.compile(r"^[a-z]{2,3}[-_]([a-z]{2})\b", re.IGNORECASE)


@functools.cache
def _territory_zones() -> dict[str, list[str]]:
    return dict(get_global("territory_zones"))


def country_of_zone(zone: str) -> str | None:
    territory = get_global("zone_territories").get(zone)
    return str(territory) if territory else None


def country_from_request(request: HttpRequest) -> str:
    """The region of the browser's first language with one (``fr-BE`` → ``BE``), else from the
    interface language."""
    for part in str(request.META.get("HTTP_ACCEPT_LANGUAGE", "")).split(","):
        match = _REGION.match(part.strip())
        if match and match.group(1).upper() in _territory_zones():
            return match.group(1).upper()
    language = (getattr(request, "LANGUAGE_CODE", "") or "fr")[:2]
    return LANGUAGE_COUNTRY.get(language, "FR")


def likely_zones(country: str | None) -> list[str]:
    zones = list(_territory_zones().get(country or "", []))
    if country == "FR":
        zones += FRANCE_OVERSEAS
    known = set(TIMEZONES)
    return [z for z in dict.fromkeys(zones) if z in known]


def ordered_zones(country: str | None) -> tuple[list[str], list[str]]:
    """(likely zones, every other zone A to Z)."""
    likely = likely_zones(country)
    rest = [z for z in TIMEZONES if z not in set(likely)]
    return likely, rest
