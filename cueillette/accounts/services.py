"""Writes about organizations, staff and roles: atomic and audited."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from cueillette.accounts.models import Membership, Role, User
from cueillette.core import audit, tenancy
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import CURRENCIES, RESERVED_SLUGS, TIMEZONES, Organization
from cueillette.customers.services import seed_wordings


@transaction.atomic
def create_organization(
    *,
    owner: User,
    name: str,
    slug: str,
    language: str = "fr",
    timezone: str = "Europe/Paris",
    currency: str = "EUR",
) -> Organization:
    """Open a business: the organization, its owner membership and its default wordings."""
    name = (name or "").strip()
    slug = (slug or "").strip().lower()
    if not name:
        raise ServiceError("required", _("name is required"), field="name")
    if len(name) > 120:
        raise ServiceError("too_long", _("name is too long (120 characters at most)"), field="name")
    from cueillette.core.models import SLUG_VALIDATOR

    try:
        SLUG_VALIDATOR(slug)
    except Exception as exc:
        raise ServiceError(
            "invalid_slug",
            _("public address: use 3 to 50 lowercase letters, digits or hyphens"),
            field="slug",
        ) from exc
    if slug in RESERVED_SLUGS or Organization.objects.filter(slug=slug).exists():
        raise ServiceError("slug_taken", _("public address is already taken"), field="slug")
    if language not in ("fr", "en"):
        raise ServiceError("invalid", _("language must be fr or en"), field="language")
    if timezone not in TIMEZONES:
        raise ServiceError("invalid", _("time zone is not known"), field="timezone")
    if currency not in CURRENCIES:
        raise ServiceError("invalid", _("currency is not supported"), field="currency")
    org = Organization.objects.create(
        name=name, slug=slug, language=language, timezone=timezone, currency=currency,
        contact_email=owner.email,
    )
    with tenancy.tenant_context(org):
        Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
        seed_wordings(org)
        audit.record(Actor.staff(owner), "organization.created", org, slug=slug)
    return org
