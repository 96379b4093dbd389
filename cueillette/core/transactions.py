"""Savepoints only where they can matter.

Every action is atomic. Called inside another transaction, ``transaction.atomic`` makes it a
savepoint (two more round trips) so that a caller can catch the action's error and go on: an
import catches a refused row and imports the next one. A whole API write is not such a
caller: whatever fails, the request's transaction is rolled back, the record of its answer
with it. :func:`all_or_nothing` opens that transaction; an action decorated with
:func:`action_atomic` and called directly inside it takes no savepoint of its own (an action
it calls in turn is one level deeper and keeps its savepoint, since the first may catch).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from django.db import connection, transaction

P = ParamSpec("P")
R = TypeVar("R")

# The depth of connection.atomic_blocks inside the all-or-nothing transaction, if one is open.
_whole: ContextVar[int | None] = ContextVar("cueillette_all_or_nothing", default=None)


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """``transaction.atomic()`` for a unit that is rolled back whole on any error."""
    with transaction.atomic():
        token = _whole.set(len(connection.atomic_blocks))
        try:
            yield
        finally:
            _whole.reset(token)


def action_atomic(func: Callable[P, R]) -> Callable[P, R]:
    """``transaction.atomic`` for an action: a savepoint when nested, except directly inside
    :func:`all_or_nothing` (where an error rolls back everything anyway)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        direct = connection.in_atomic_block and _whole.get() == len(connection.atomic_blocks)
        with transaction.atomic(savepoint=not direct):
            return func(*args, **kwargs)

    return wrapper
