# Every statement below is built from identifiers of the models' metadata (quoted by the
# backend); values are always parameters.
# ruff: noqa: S608
"""The purchase's reads and writes as a few typed raw statements (issue 16, "the till at rush").

``services.record_purchase_result`` is the one action; this module only gives it statements
that cost one round trip each and no per-request ORM query building (which cost more CPU than
the database spent answering). Everything here is portable SQL (PostgreSQL and SQLite): column
names come from the models' ``_meta``, values go through the fields' own ``get_db_prep_save``
and come back through the backend's and the fields' converters, so a row written here is the
row the ORM would have written, and a field added later with a default is written too.

* :func:`lock_card`: ``SELECT ... FOR UPDATE OF card`` bringing the card, the customer's
  birthday, the program's rule columns and every tier in one statement (PostgreSQL locks the
  card row only; SQLite's IMMEDIATE transaction already serialises writers);
* :func:`after_lock`: after the lock (a new snapshot under READ COMMITTED, so a parallel retry
  that held the lock is seen): the receipt already recorded, whether a batch is newly due to
  expire, what was earned today (only with a daily cap), the profiling consent (only when a
  birthday gift could be due), in one statement;
* :func:`qualifying_rows`: the card's qualifying entries of the last 13 months (tiers);
* :func:`insert_rows`: one multi-row ``INSERT ... RETURNING id``.

Program rules are cached per process keyed by the rule columns themselves: a changed program
(or tier) is a new key, so nothing needs invalidating and no worker ever uses stale rules.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone

from cueillette.customers.models import ConsentEvent, Customer
from cueillette.loyalty import rules
from cueillette.loyalty.models import QUALIFYING_KINDS, Card, EntryKind, PointsEntry, Purchase

Converter = Callable[[Any, Any, Any], Any]

# Rule columns of the program, in the order of the lock statement (cache key of the rules).
_PROGRAM_COLUMNS = (
    "id",
    "points_per_euro",
    "rounding",
    "points_per_visit",
    "weekday_multipliers",
    "category_multipliers",
    "daily_cap",
    "welcome_bonus",
    "birthday_bonus",
    "birthday_days_before",
    "birthday_days_after",
    "expiry_months",
)
_JSON_COLUMNS = frozenset({"weekday_multipliers", "category_multipliers"})
_TIER_COLUMNS = ("code", "name", "threshold", "multiplier")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _col(field: models.Field[Any, Any]) -> str:
    column = field.column
    assert column is not None  # concrete fields all have one
    return _q(column)


def _table(model: type[models.Model]) -> str:
    return _q(model._meta.db_table)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


@functools.cache
def _converters(model: type[models.Model], name: str) -> tuple[Converter, ...]:
    """The backend's and the field's converters for a column read with a raw cursor."""
    field = _field(model, name)
    col = field.get_col(model._meta.db_table)
    return tuple(connection.ops.get_db_converters(col)) + tuple(field.get_db_converters(connection))


def _from_db(model: type[models.Model], name: str, value: Any) -> Any:
    for convert in _converters(model, name):
        value = convert(value, _field(model, name).get_col(model._meta.db_table), connection)
    return value


def _dt(value: dt.datetime | None) -> Any:
    """A datetime as a raw parameter (SQLite stores naive UTC text, PostgreSQL timestamptz)."""
    return connection.ops.adapt_datetimefield_value(value)


# --------------------------------------------------------------------------- the locked read


@dataclass(frozen=True)
class ProgramRules:
    """The program's rules as the pure functions take them (built once per distinct row)."""

    program_id: int
    earn: rules.EarnRules
    expiry_months: int | None
    daily_cap: int | None
    birthday_bonus: int


@dataclass(frozen=True)
class Locked:
    """What the purchase needs, read under the card's lock in one statement."""

    card: Card
    birthday: dt.date | None
    program: ProgramRules
    tiers: tuple[rules.Tier, ...]  # by threshold


@functools.cache
def _lock_sql(for_update: bool) -> str:
    card_cols = ", ".join(f"c.{_col(f)}" for f in Card._meta.concrete_fields)
    program_cols = ", ".join(
        f"CAST(p.{_q(name)} AS TEXT)" if name in _JSON_COLUMNS else f"p.{_q(name)}"
        for name in _PROGRAM_COLUMNS
    )
    tier_cols = ", ".join(f"t.{_q(name)}" for name in _TIER_COLUMNS)
    from cueillette.loyalty.models import Program, Tier

    sql = (
        f"SELECT {card_cols}, cu.{_q('birthday')}, {program_cols}, {tier_cols} "
        f"FROM {_table(Card)} c "
        f"JOIN {_table(Customer)} cu ON cu.{_q('id')} = c.{_q('customer_id')} "
        f"JOIN {_table(Program)} p ON p.{_q('organization_id')} = c.{_q('organization_id')} "
        f"LEFT JOIN {_table(Tier)} t ON t.{_q('organization_id')} = c.{_q('organization_id')} "
        f"WHERE c.{_q('id')} = %s AND c.{_q('organization_id')} = %s "
        f"ORDER BY t.{_q('threshold')}"
    )
    return sql + (" FOR UPDATE OF c" if for_update else "")


@functools.lru_cache(maxsize=256)
def _program_rules(row: tuple[Any, ...]) -> ProgramRules:
    from cueillette.loyalty.models import Program

    values = dict(zip(_PROGRAM_COLUMNS, row, strict=True))
    for name in _JSON_COLUMNS:
        raw = values[name]
        values[name] = json.loads(raw) if isinstance(raw, str) else (raw or {})
    values["points_per_euro"] = _from_db(Program, "points_per_euro", values["points_per_euro"])
    program = Program(**values)
    return ProgramRules(
        program_id=int(values["id"]),
        earn=program.earn_rules(),
        expiry_months=program.expiry_months,
        daily_cap=program.daily_cap,
        birthday_bonus=program.birthday_bonus,
    )


@functools.lru_cache(maxsize=256)
def _tier_rules(rows: tuple[tuple[Any, ...], ...]) -> tuple[rules.Tier, ...]:
    from cueillette.loyalty.models import Tier

    return tuple(
        rules.Tier(
            code=code,
            threshold=int(threshold),
            multiplier=Decimal(_from_db(Tier, "multiplier", multiplier)),
            name=name,
        )
        for code, name, threshold, multiplier in rows
    )


def lock_card(card_id: int, organization_id: int) -> Locked | None:
    """Lock the card and read what a purchase needs; None when the program does not exist."""
    fields = Card._meta.concrete_fields
    with connection.cursor() as cursor:
        cursor.execute(
            _lock_sql(connection.features.has_select_for_update), [card_id, organization_id]
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    first = rows[0]
    n = len(fields)
    card = Card.from_db(
        connection.alias,
        [f.attname for f in fields],
        [_from_db(Card, f.name, v) for f, v in zip(fields, first[:n], strict=True)],
    )
    birthday = _from_db(Customer, "birthday", first[n])
    program_row = tuple(first[n + 1 : n + 1 + len(_PROGRAM_COLUMNS)])
    tiers_at = n + 1 + len(_PROGRAM_COLUMNS)
    tier_rows = tuple(tuple(r[tiers_at:]) for r in rows if r[tiers_at] is not None)
    return Locked(card, birthday, _program_rules(program_row), _tier_rules(tier_rows))


@functools.cache
def _card_by_number_sql() -> str:
    card_cols = ", ".join(_col(f) for f in Card._meta.concrete_fields)
    return (
        f"SELECT {card_cols} FROM {_table(Card)} "
        f"WHERE {_q('organization_id')} = %s AND {_q('number')} = %s LIMIT 1"
    )


def card_by_number(digits: str, organization_id: int) -> Card | None:
    """The organization's card with this (normalised) number, open or closed, without its
    customer (loaded on first use); one typed statement, no queryset built per request."""
    fields = Card._meta.concrete_fields
    with connection.cursor() as cursor:
        cursor.execute(_card_by_number_sql(), [organization_id, digits])
        row = cursor.fetchone()
    if row is None:
        return None
    return Card.from_db(
        connection.alias,
        [f.attname for f in fields],
        [_from_db(Card, f.name, v) for f, v in zip(fields, row, strict=True)],
    )


# --------------------------------------------------------------------------- after the lock


@dataclass(frozen=True)
class AfterLock:
    existing_purchase_id: int | None
    expiry_due: bool
    earned_today: int
    profiling_consent: bool


def after_lock(
    card: Card,
    *,
    receipt: str,
    now: dt.datetime,
    day: tuple[dt.datetime, dt.datetime] | None,
    consent_purpose: str | None,
) -> AfterLock:
    """One statement: the receipt already recorded, a newly due batch, today's qualifying
    points (``day`` given: the program has a daily cap), the latest consent for
    ``consent_purpose`` (given: a birthday gift could be due)."""
    org, card_id = card.organization_id, card.pk
    e, pu, ce = _table(PointsEntry), _table(Purchase), _table(ConsentEvent)
    parts = [f"(SELECT {_q('id')} FROM {pu} WHERE {_q('organization_id')} = %s"]
    parts[0] += f" AND {_q('receipt_id')} = %s)"
    params: list[Any] = [org, receipt]
    due = (
        f"SELECT 1 FROM {e} WHERE {_q('organization_id')} = %s AND {_q('card_id')} = %s "
        f"AND {_q('points')} > 0 AND {_q('expires_at')} <= %s"
    )
    params += [org, card_id, _dt(now)]
    if card.expiries_checked_at is not None:
        due += f" AND {_q('expires_at')} > %s"
        params.append(_dt(card.expiries_checked_at))
    parts.append(f"CASE WHEN EXISTS ({due}) THEN 1 ELSE 0 END")
    if day is not None:
        kinds = ", ".join("%s" for _k in QUALIFYING_KINDS)
        parts.append(
            f"(SELECT COALESCE(SUM({_q('points')}), 0) FROM {e} WHERE {_q('organization_id')} = %s"
            f" AND {_q('card_id')} = %s AND {_q('kind')} IN ({kinds})"
            f" AND {_q('occurred_at')} >= %s AND {_q('occurred_at')} < %s)"
        )
        params += [org, card_id, *sorted(QUALIFYING_KINDS), _dt(day[0]), _dt(day[1])]
    else:
        parts.append("0")
    if consent_purpose is not None:
        parts.append(
            f"(SELECT {_q('granted')} FROM {ce} WHERE {_q('organization_id')} = %s"
            f" AND {_q('customer_id')} = %s AND {_q('purpose')} = %s"
            f" ORDER BY {_q('occurred_at')} DESC, {_q('id')} DESC LIMIT 1)"
        )
        params += [org, card.customer_id, consent_purpose]
    else:
        parts.append("NULL")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        existing, due_flag, today, granted = cursor.fetchone()
    return AfterLock(
        existing_purchase_id=None if existing is None else int(existing),
        expiry_due=bool(due_flag),
        earned_today=int(today or 0),
        profiling_consent=bool(granted),
    )


def qualifying_rows(card: Card, since: dt.datetime) -> list[rules.QualifyingPoints]:
    """``services.qualifying_points`` for entries recorded since ``since``: purchase and
    visit points at their time, refund take-backs at their purchase's time.

    Entries before ``since`` (13 months back) are out of the 12-month window, and so is a
    refund's purchase, which is always older than the refund."""
    e, pu = _table(PointsEntry), _table(Purchase)
    kinds = sorted(QUALIFYING_KINDS)
    sql = (
        f"SELECT e.{_q('kind')}, e.{_q('points')}, e.{_q('occurred_at')}, "
        f"e.{_q('purchase_id')}, p.{_q('occurred_at')} FROM {e} e "
        f"LEFT JOIN {pu} p ON p.{_q('id')} = e.{_q('purchase_id')} "
        f"WHERE e.{_q('organization_id')} = %s AND e.{_q('card_id')} = %s "
        f"AND e.{_q('occurred_at')} >= %s AND (e.{_q('kind')} IN (%s, %s, %s) "
        f"OR (e.{_q('kind')} = %s AND e.{_q('purchase_id')} IS NOT NULL))"
    )
    params = [card.organization_id, card.pk, _dt(since), *kinds, EntryKind.REFUND]
    params.append(EntryKind.CORRECTION)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = []
    for kind, points, occurred, purchase_id, purchase_at in rows:
        if kind in QUALIFYING_KINDS:
            out.append(
                rules.QualifyingPoints(int(points), _from_db(PointsEntry, "occurred_at", occurred))
            )
        elif purchase_id is not None and purchase_at is not None:
            out.append(
                rules.QualifyingPoints(int(points), _from_db(Purchase, "occurred_at", purchase_at))
            )
    return out


# --------------------------------------------------------------------------- writes


@functools.cache
def _insert_fields(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


@functools.cache
def _insert_sql(model: type[models.Model], count: int, returning: bool) -> str:
    fields = _insert_fields(model)
    columns = ", ".join(_col(f) for f in fields)
    row = "(" + ", ".join("%s" for _f in fields) + ")"
    sql = f"INSERT INTO {_table(model)} ({columns}) VALUES " + ", ".join([row] * count)
    return sql + (f" RETURNING {_q('id')}" if returning else "")


def _value(field: models.Field[Any, Any], row: Mapping[str, Any], now: dt.datetime) -> Any:
    if field.attname in row:
        return row[field.attname]
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


def insert_rows(
    model: type[models.Model], rows: Sequence[Mapping[str, Any]], *, returning: bool = False
) -> list[int]:
    """One multi-row INSERT of ``rows`` (attribute names -> values; defaults for the rest, as
    ``Model.objects.create`` would give them). Returns the new ids when ``returning``."""
    if not rows:
        return []
    now = timezone.now()
    fields = _insert_fields(model)
    params = [f.get_db_prep_save(_value(f, row, now), connection) for row in rows for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, len(rows), returning), params)
        if returning:
            return [int(r[0]) for r in cursor.fetchall()]
    return []


def update_card(card: Card, balance_delta: int, values: Mapping[str, Any]) -> int:
    """``balance = balance + delta`` and the other columns in one UPDATE; the new balance."""
    sets = [f"{_q('balance')} = {_q('balance')} + %s"]
    params: list[Any] = [balance_delta]
    for name, value in values.items():
        field = _field(Card, name)
        sets.append(f"{_col(field)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    params += [card.pk, card.organization_id]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table(Card)} SET {', '.join(sets)} "
            f"WHERE {_q('id')} = %s AND {_q('organization_id')} = %s RETURNING {_q('balance')}",
            params,
        )
        return int(cursor.fetchone()[0])


def touch_customer(customer_id: int, organization_id: int, when: dt.datetime) -> None:
    """``customers.services.touch_activity`` without building a queryset."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table(Customer)} SET {_q('last_activity_at')} = %s "
            f"WHERE {_q('id')} = %s AND {_q('organization_id')} = %s",
            [_dt(when), customer_id, organization_id],
        )


def card_after(card: Card, purchase_id: int) -> tuple[int, str, dt.datetime | None, Any, int]:
    """The card as the consequences left it (a referral bonus may have moved it) and the
    points the purchase credited to it: balance, tier, last visit, birthday year, credited."""
    e = _table(PointsEntry)
    sql = (
        f"SELECT c.{_q('balance')}, c.{_q('tier_code')}, c.{_q('last_visit_at')}, "
        f"c.{_q('last_birthday_year')}, (SELECT COALESCE(SUM({_q('points')}), 0) FROM {e} "
        f"WHERE {_q('organization_id')} = %s AND {_q('purchase_id')} = %s "
        f"AND {_q('card_id')} = %s AND {_q('points')} > 0) FROM {_table(Card)} c "
        f"WHERE c.{_q('id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [card.organization_id, purchase_id, card.pk, card.pk])
        balance, tier_code, last_visit, year, credited = cursor.fetchone()
    return (
        int(balance),
        tier_code,
        _from_db(Card, "last_visit_at", last_visit),
        year,
        int(credited),
    )
