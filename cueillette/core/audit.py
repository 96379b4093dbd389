"""Writing the audit log. Services call :func:`record` inside their transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cueillette.core.models import AuditEvent
from cueillette.core.tenancy import current_org

if TYPE_CHECKING:
    from cueillette.accounts.models import User


@dataclass(frozen=True)
class Actor:
    """Who performs a write: a staff user, the customer themselves, an API key or the system."""

    kind: str  # "staff" | "customer" | "api" | "system"
    label: str = ""
    user: User | None = None
    # An API key's permissions (``core.permissions.ApiScope`` values), which the services'
    # permission checks read; None for the other kinds.
    scopes: frozenset[str] | None = None
    # A staff member's role in the current organization ("owner", "manager", "counter"), which
    # ``core.permissions.require`` checks; None for the other kinds. A staff actor built
    # without one is refused every permission (it fails closed: nobody guesses a role).
    role: str | None = None

    @classmethod
    def staff(cls, user: User, role: str | None = None) -> Actor:
        return cls(kind="staff", label=user.display_name, user=user, role=role)

    @classmethod
    def of_membership(cls, membership: Any) -> Actor:
        """A staff member acting in the organization of ``membership`` (accounts.Membership)."""
        return cls.staff(membership.user, role=membership.role)

    @classmethod
    def customer(cls, label: str = "") -> Actor:
        """The customer acting for themselves. Never put their name here: logs outlive erasure."""
        return cls(kind="customer", label=label or "customer")

    @classmethod
    def api(cls, key_name: str, scopes: Iterable[str] | None = None) -> Actor:
        """An API key; without ``scopes`` only the route's own scope check has applied."""
        return cls(
            kind="api",
            label=f"API: {key_name}",
            scopes=None if scopes is None else frozenset(scopes),
        )

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", label=label)


def record(
    actor: Actor,
    action: str,
    obj: Any = None,
    *,
    object_type: str = "",
    object_id: str | int | None = None,
    **data: Any,
) -> AuditEvent:
    """Append one audit row in the current organization. ``data`` must be JSON-serialisable."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = obj.pk if object_id is None else object_id
    return AuditEvent.objects.create(
        organization=current_org(),
        actor_user=actor.user,
        actor_kind=actor.kind,
        actor_label=actor.label[:200],
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        data=data,
    )
