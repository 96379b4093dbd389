"""Tenant isolation in one place.

Every tenant-owned model inherits :class:`TenantModel`, whose default manager filters every
query by the *current organization*, a context variable set by exactly three doors:

* ``TenantMiddleware`` for staff pages (from the session's chosen membership),
* the API key authentication for ``/api/v1`` (the key's organization),
* ``tenant_context(org)`` for tasks, management commands, public pages and tests.

With no current organization, a query on a tenant model raises ``NoTenantError`` instead of
silently reading every organization. Code that must cross organizations (the retention task
looping over organizations, the token lookup of a magic link) calls ``Model.objects.unscoped()``
and says why in a comment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django.http import Http404

if TYPE_CHECKING:
    from cueillette.core.models import Organization

_current: ContextVar[Organization | None] = ContextVar("cueillette_org", default=None)

M = TypeVar("M", bound=models.Model)


class NoTenantError(RuntimeError):
    """A tenant-owned table was queried with no current organization."""


def current_org() -> Organization:
    org = _current.get()
    if org is None:
        raise NoTenantError("no current organization: use tenant_context(org) or unscoped()")
    return org


def current_org_or_none() -> Organization | None:
    return _current.get()


@contextmanager
def tenant_context(org: Organization | None) -> Iterator[Organization | None]:
    """Make ``org`` the current organization for the block (None clears it)."""
    token = _current.set(org)
    try:
        yield org
    finally:
        _current.reset(token)


def activate(org: Organization | None) -> Any:
    """Set the current organization; returns a token for :func:`deactivate`."""
    return _current.set(org)


def deactivate(token: Any) -> None:
    _current.reset(token)


class TenantManager(models.Manager[M]):
    """Default manager of tenant models: always filtered by the current organization."""

    def get_queryset(self) -> models.QuerySet[M]:
        org = current_org()
        return super().get_queryset().filter(organization_id=org.pk)

    def unscoped(self) -> models.QuerySet[M]:
        """Every organization's rows. Callers must say why in a comment."""
        return super().get_queryset()


class TenantModel(models.Model):
    """A row that belongs to exactly one organization."""

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="+", editable=False
    )

    objects: TenantManager[Any] = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        org = _current.get()
        if self.organization_id is None:
            self.organization = current_org()
        elif org is not None and self.organization_id != org.pk:
            raise NoTenantError("refusing to write a row of another organization")
        super().save(*args, **kwargs)


class AppendOnlyModel(TenantModel):
    """A ledger row: written once, never edited nor deleted through the ORM's model methods.

    Subclasses name themselves in ``append_only`` for the error ("the consent ledger"). Rows
    are corrected by appending (a withdrawal, a correction entry), never by rewriting; the one
    exception (erasure blanking free text) is a reviewed queryset ``update`` in a service.
    """

    append_only = "this ledger"

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A preset id would make Django try an UPDATE first: refused as well.
        if self.pk is not None or not self._state.adding:
            raise ValueError(f"{self.append_only} only appends")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"{self.append_only} only appends")


def access(model: type[M], pk: Any, **filters: Any) -> M:
    """The one door to a tenant row by id: 404 for missing *and* for another organization's."""
    try:
        return model._default_manager.get(pk=pk, **filters)
    except (model.DoesNotExist, ValueError, TypeError) as exc:  # type: ignore[attr-defined]
        raise Http404 from exc
