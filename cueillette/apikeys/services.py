"""Creating and revoking API keys: the full key exists only in the creator's answer."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cueillette.api import KEY_PREFIX
from cueillette.core import audit
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import ApiKey
from cueillette.core.tokens import hash_token, new_token

NAME_MAX = 100


def _new_prefix() -> str:
    # 8 hex characters: no "_" (the separator), unique across every organization.
    while True:
        prefix = secrets.token_hex(4)
        # The prefix is unique across organizations (it finds the key before the organization
        # is known), so the check must look at every organization.
        if not ApiKey.objects.unscoped().filter(prefix=prefix).exists():
            return prefix


@transaction.atomic
def create_api_key(name: str, scope: str, *, actor: Actor) -> tuple[ApiKey, str]:
    """A new key of the current organization; returns the row and the full key (shown once).

    Only the SHA-256 of the full key is stored.
    """
    name = (name or "").strip()
    if not name:
        raise ServiceError("required", _("name is required: say which till uses it"), field="name")
    if len(name) > NAME_MAX:
        raise ServiceError(
            "too_long",
            _("name is too long (%(n)d characters at most)") % {"n": NAME_MAX},
            field="name",
        )
    if scope not in ApiKey.Scope.values:
        raise ServiceError("invalid", _("scope must be read or write"), field="scope")
    prefix = _new_prefix()
    raw = f"{KEY_PREFIX}_{prefix}_{new_token(32)}"
    key = ApiKey.objects.create(
        name=name, prefix=prefix, hashed_key=hash_token(raw), scope=scope, created_by=actor.user
    )
    audit.record(actor, "api_key.created", key, prefix=prefix, scope=scope)
    return key, raw


@transaction.atomic
def revoke_api_key(key: ApiKey, *, actor: Actor) -> ApiKey:
    """Stop a key at once; revoking twice changes nothing."""
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit.record(actor, "api_key.revoked", key, prefix=key.prefix)
    return key
