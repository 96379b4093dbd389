# Every statement built here uses identifiers of the models' metadata (quoted by the backend);
# values are always parameters.
# ruff: noqa: S608
"""Typed raw rows for the few hot paths where building a queryset per request costs more CPU
than the database spends answering (the till's purchase, the API key's lookup).

One way to read and write a model's row with a raw cursor, shared by every hot path:

* :func:`select_list` / :func:`instance`: the model's concrete columns under a table alias, and
  the row back as a model instance through the backend's and the fields' own converters (the
  instance the ORM would have built);
* :func:`insert_rows`: one multi-row ``INSERT`` with the defaults ``objects.create`` would
  give, values prepared by the fields themselves (``get_db_prep_save``);
* :func:`dt_param`: a datetime as a raw parameter;
* :func:`writes_watched`: whether some code wrote anything (to skip re-reading rows).

Column lists and statements are built once per process (they depend only on the models).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connection, models
from django.utils import timezone

M = TypeVar("M", bound=models.Model)
Converter = Callable[[Any, Any, Any], Any]


def q(name: str) -> str:
    """A quoted identifier."""
    return connection.ops.quote_name(name)


def table(model: type[models.Model]) -> str:
    return q(model._meta.db_table)


def column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column is not None
    return q(field.column)


def concrete_fields(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    return tuple(model._meta.concrete_fields)


@functools.cache
def select_list(model: type[models.Model], alias: str) -> str:
    """``alias."col", ...`` for every concrete column, in ``_meta`` order (see :func:`instance`)."""
    return ", ".join(f"{alias}.{q(str(f.column))}" for f in model._meta.concrete_fields)


@functools.cache
def _field_converters(model: type[models.Model]) -> tuple[tuple[Any, tuple[Converter, ...]], ...]:
    out = []
    for field in model._meta.concrete_fields:
        col = field.get_col(model._meta.db_table)
        converters = tuple(connection.ops.get_db_converters(col))
        out.append((col, converters + tuple(field.get_db_converters(connection))))
    return tuple(out)


@functools.cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def value(model: type[models.Model], name: str, raw: Any) -> Any:
    """One column's raw value through its converters."""
    field = model._meta.get_field(name)
    index = model._meta.concrete_fields.index(field)
    col, converters = _field_converters(model)[index]
    for convert in converters:
        raw = convert(raw, col, connection)
    return raw


def instance(model: type[M], row: Sequence[Any]) -> M:
    """The model instance of a row read with :func:`select_list` (same order, same length)."""
    values = []
    for (col, converters), raw in zip(_field_converters(model), row, strict=True):
        for convert in converters:
            raw = convert(raw, col, connection)
        values.append(raw)
    return model.from_db(connection.alias, _attnames(model), values)


def width(model: type[models.Model]) -> int:
    """How many columns :func:`select_list` gives."""
    return len(model._meta.concrete_fields)


def dt_param(when: dt.datetime | None) -> Any:
    """A datetime as a raw parameter (SQLite stores naive UTC text, PostgreSQL timestamptz)."""
    return connection.ops.adapt_datetimefield_value(when)


# --------------------------------------------------------------------------- inserts


@functools.cache
def insert_fields(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


@functools.cache
def insert_sql(model: type[models.Model], count: int, returning: bool) -> str:
    fields = insert_fields(model)
    columns = ", ".join(q(str(f.column)) for f in fields)
    row = "(" + ", ".join("%s" for _f in fields) + ")"
    sql = f"INSERT INTO {table(model)} ({columns}) VALUES " + ", ".join([row] * count)
    return sql + (f" RETURNING {q('id')}" if returning else "")


def default(field: models.Field[Any, Any], now: dt.datetime) -> Any:
    """The value ``objects.create`` gives a field left out (``auto_now``: ``now``)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


# Fields whose ``get_db_prep_save`` returns these Python types unchanged on every backend.
_PLAIN: dict[str, tuple[type, ...]] = {
    "CharField": (str,),
    "TextField": (str,),
    "SlugField": (str,),
    "EmailField": (str,),
    "IntegerField": (int,),
    "SmallIntegerField": (int,),
    "BigIntegerField": (int,),
    "PositiveIntegerField": (int,),
    "PositiveSmallIntegerField": (int,),
    "PositiveBigIntegerField": (int,),
    "ForeignKey": (int,),
    "BooleanField": (bool,),
}


@functools.cache
def _plain_types(field: models.Field[Any, Any]) -> tuple[type, ...]:
    plain = _PLAIN.get(field.get_internal_type(), ())
    return (*plain, type(None)) if plain and field.null else plain


def prep(field: models.Field[Any, Any], value: Any) -> Any:
    """``field.get_db_prep_save(value)``, skipped where it returns the value unchanged (a str
    for a text column, an int for an integer or a key, None where NULL is allowed): the
    hot paths prepare a few dozen values per request."""
    if type(value) in _plain_types(field):
        return value
    return field.get_db_prep_save(value, connection)


def insert_params(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The parameters of :func:`insert_sql` for ``rows`` (attribute names -> values; the
    defaults ``objects.create`` would give for the rest)."""
    now = timezone.now()
    fields = insert_fields(model)
    return [
        prep(f, row[f.attname] if f.attname in row else default(f, now))
        for row in rows
        for f in fields
    ]


def insert_rows(
    model: type[models.Model], rows: Sequence[Mapping[str, Any]], *, returning: bool = False
) -> list[int]:
    """One multi-row INSERT of ``rows``. Returns the new ids when ``returning``."""
    if not rows:
        return []
    with connection.cursor() as cursor:
        cursor.execute(insert_sql(model, len(rows), returning), insert_params(model, rows))
        if returning:
            return [int(r[0]) for r in cursor.fetchall()]
    return []


# --------------------------------------------------------------------------- watching writes


class Watched:
    """What :func:`writes_watched` saw: ``wrote`` once any statement other than a read ran."""

    wrote: bool = False


_READS = ("SELECT", "WITH")
_WRITES = ("INSERT", "UPDATE", "DELETE")  # in a WITH: a data-modifying CTE


@contextmanager
def writes_watched() -> Iterator[Watched]:
    """Tell whether the code inside wrote anything on the connection (any statement that is
    not a plain read: an INSERT, an UPDATE, a savepoint...), so a caller can skip re-reading
    rows nobody touched. Errs on the side of "wrote"."""
    watched = Watched()

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not watched.wrote:
            head = sql.lstrip()[:6].upper()
            if not head.startswith(_READS) or (
                head.startswith("WITH") and any(w in sql.upper() for w in _WRITES)
            ):
                watched.wrote = True
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        yield watched
