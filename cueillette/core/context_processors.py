from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cueillette.core.permissions import ROLE_PERMS


def tenant(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    role = membership.role if membership is not None else None
    return {
        "organization": getattr(request, "organization", None),
        "membership": membership,
        "role": role,
        "perms_for_role": {p.value for p in ROLE_PERMS.get(role or "", frozenset())},
    }
