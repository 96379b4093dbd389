"""Seed a module's rows once, for every test of the module (the sweeps, the demo data)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import transaction

T = TypeVar("T")


@contextmanager
def seeded_once(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    """Seed once for a whole module: the rows live in a transaction around the module's tests
    (each test runs in a savepoint inside it, as pytest-django nests them) and are rolled back
    at the end, so the next module starts from an empty database as usual."""
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            yield build()
        finally:
            transaction.set_rollback(True)
