"""Creating and revoking API keys: the full key exists only in the creator's answer."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cueillette.api import KEY_PREFIX
from cueillette.core import audit, permissions
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import ApiKey
from cueillette.core.permissions import SCOPE_PRESETS, SCOPE_VALUES, Perm
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


def clean_scopes(scopes: str | Iterable[str]) -> list[str]:
    """The sorted, known permissions of ``scopes``; a preset name ("till", "read", "write")
    stands for its set. Unknown names are refused, and a key needs at least one permission."""
    if isinstance(scopes, str):
        if scopes not in SCOPE_PRESETS:
            raise ServiceError(
                "invalid",
                _("unknown set of permissions: %(name)s") % {"name": scopes},
                field="scopes",
            )
        wanted = {s.value for s in SCOPE_PRESETS[scopes]}
    else:
        wanted = {str(s) for s in scopes}
    unknown = sorted(wanted - SCOPE_VALUES)
    if unknown:
        raise ServiceError(
            "invalid",
            _("unknown permission: %(names)s") % {"names": ", ".join(unknown)},
            field="scopes",
        )
    if not wanted:
        raise ServiceError(
            "required",
            _("choose at least one permission: what may this key do?"),
            field="scopes",
        )
    return sorted(wanted)


@transaction.atomic
def create_api_key(name: str, scopes: str | Iterable[str], *, actor: Actor) -> tuple[ApiKey, str]:
    """A new key of the current organization with exactly ``scopes``; returns the row and the
    full key (shown once). Only the SHA-256 of the full key is stored."""
    permissions.require(actor, Perm.MANAGE_API_KEYS)
    name = (name or "").strip()
    errors: list[dict[str, str | None]] = []
    if not name:
        errors.append(
            {"code": "required", "field": "name",
             "message": _("name is required: say which till uses it")}
        )  # fmt: skip
    elif len(name) > NAME_MAX:
        errors.append(
            {"code": "too_long", "field": "name",
             "message": _("name is too long (%(n)d characters at most)") % {"n": NAME_MAX}}
        )  # fmt: skip
    try:
        chosen = clean_scopes(scopes)
    except ServiceError as exc:
        errors.append(exc.as_dict())
    if errors:
        first = errors[0]
        raise ServiceError(
            str(first["code"]), str(first["message"]), field=first["field"], errors=errors
        )
    prefix = _new_prefix()
    raw = f"{KEY_PREFIX}_{prefix}_{new_token(32)}"
    key = ApiKey.objects.create(
        name=name, prefix=prefix, hashed_key=hash_token(raw), scopes=chosen, created_by=actor.user
    )
    audit.record(actor, "api_key.created", key, prefix=prefix, scopes=chosen)
    return key, raw


@transaction.atomic
def revoke_api_key(key: ApiKey, *, actor: Actor) -> ApiKey:
    """Stop a key at once; revoking twice changes nothing."""
    permissions.require(actor, Perm.MANAGE_API_KEYS)
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit.record(actor, "api_key.revoked", key, prefix=key.prefix)
    return key
