# Every statement below is built from identifiers of the models' metadata (quoted by the
# backend); values are always parameters.
# ruff: noqa: S608
"""The purchase's reads and writes as a few typed raw statements (issue 16, "the till at rush").

``services.record_purchase_result`` is the one action; this module only gives it statements
that cost one round trip each and no per-request ORM query building (which cost more CPU than
the database spent answering). Column names come from the models' ``_meta``, values go through
the fields' own ``get_db_prep_save`` and come back through the backend's and the fields'
converters (``core.rawsql``), so a row written here is the row the ORM would have written.

A purchase is two statements on the card:

* :func:`lock_for_purchase`: ``SELECT ... FOR UPDATE OF card`` (by id, or by the number a
  till sends) bringing the card, the customer's birthday, the program's rule columns, every
  tier, and the ledger's answers: the receipt already recorded, a batch newly due to expire,
  today's points (only with a daily cap), the birthday consent (only when a gift could be
  due), an upper bound of the qualifying points (tiers). On PostgreSQL those answers come from
  the statement's snapshot; when a writer on the card committed while the statement waited
  for the lock, :func:`after_lock` reads them again (READ COMMITTED: a new snapshot);
* :func:`write_purchase`: the purchase, its entries, the card, the customer's last activity and
  the audit rows, one statement of data-modifying CTEs on PostgreSQL.

:func:`qualifying_rows` reads the card's qualifying entries of the last 13 months only when
the bound says a tier could be reached; :func:`card_after` re-reads the card only when a
consequence wrote something.

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

from cueillette.core import rawsql
from cueillette.core.models import AuditEvent
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
class AfterLock:
    """What the ledger says under the lock: the receipt already recorded, a batch newly due to
    expire, today's qualifying points (only with a daily cap), the profiling consent (only
    when a birthday gift could be due), and an upper bound of the card's qualifying points of
    the last 13 months (positive entries only: the tier can only rise past it)."""

    existing_purchase_id: int | None
    expiry_due: bool
    earned_today: int
    profiling_consent: bool
    qualifying_bound: int


@dataclass(frozen=True)
class Locked:
    """What the purchase needs, read under the card's lock in one statement."""

    card: Card
    birthday: dt.date | None
    program: ProgramRules
    tiers: tuple[rules.Tier, ...]  # by threshold
    found: AfterLock


@dataclass(frozen=True)
class CardNumber:
    """A card named by its (normalised) number, as a till sends it: the purchase locks it by
    number, with no read before (``field`` names the input in a 404)."""

    digits: str
    field: str = "card_number"


def _ledger_parts(card_id_sql: str, checked_sql: str) -> list[str]:
    """The ledger reads of :class:`AfterLock` as scalar subqueries on one card.

    ``card_id_sql`` is the card's id as SQL (``%s``, or a subquery on its number): the parts on
    the ledger are uncorrelated, so each runs once per statement whatever the rows (one per
    tier). ``checked_sql`` is the card's expiry checkpoint (its column, or ``%s``). The
    conditional parts (daily cap, birthday consent, tiers) are ``CASE``s on the program's, the
    customer's and the tier's columns of the same statement, evaluated only when they apply;
    the parameters are :func:`_ledger_params`'s, in order."""
    e, pu, ce = _table(PointsEntry), _table(Purchase), _table(ConsentEvent)
    org, kind, at, pts = _q("organization_id"), _q("kind"), _q("occurred_at"), _q("points")
    card = f"{_q('card_id')} = {card_id_sql}"
    kinds = ", ".join("%s" for _k in QUALIFYING_KINDS)
    parts = [
        f"(SELECT {_q('id')} FROM {pu} WHERE {org} = %s AND {_q('receipt_id')} = %s)",
        f"CASE WHEN EXISTS (SELECT 1 FROM {e} WHERE {org} = %s AND {card} AND {pts} > 0"
        f" AND {_q('expires_at')} <= %s AND ({_q('expires_at')} > {checked_sql}"
        f" OR {checked_sql} IS NULL)) THEN 1 ELSE 0 END",
        f"CASE WHEN p.{_q('daily_cap')} IS NULL THEN 0 ELSE (SELECT COALESCE(SUM({pts}), 0)"
        f" FROM {e} WHERE {org} = %s AND {card} AND {kind} IN ({kinds})"
        f" AND {at} >= %s AND {at} < %s) END",
        f"CASE WHEN p.{_q('birthday_bonus')} > 0 AND cu.{_q('birthday')} IS NOT NULL THEN"
        f" (SELECT {_q('granted')} FROM {ce} WHERE {org} = %s AND {_q('customer_id')} ="
        f" cu.{_q('id')} AND {_q('purpose')} = %s"
        f" ORDER BY {_q('occurred_at')} DESC, {_q('id')} DESC LIMIT 1) END",
        f"CASE WHEN t.{_q('code')} IS NULL THEN 0 ELSE (SELECT COALESCE(SUM({pts}), 0)"
        f" FROM {e} WHERE {org} = %s AND {card} AND {kind} IN ({kinds}) AND {pts} > 0"
        f" AND {at} >= %s) END",
    ]
    return parts


def _ledger_params(
    org_id: int,
    card_params: Sequence[Any],
    *,
    receipt: str,
    now: dt.datetime,
    checked: Sequence[Any],
    day: tuple[dt.datetime, dt.datetime],
    since: dt.datetime,
    consent_purpose: str,
) -> list[Any]:
    """``checked``: the checkpoint's parameters (none when ``checked_sql`` is the column)."""
    kinds = sorted(QUALIFYING_KINDS)
    return [
        org_id,
        receipt,
        org_id,
        *card_params,
        _dt(now),
        *checked,
        *checked,
        org_id,
        *card_params,
        *kinds,
        _dt(day[0]),
        _dt(day[1]),
        org_id,
        consent_purpose,
        org_id,
        *card_params,
        *kinds,
        _dt(since),
    ]


_LEDGER_WIDTH = 5


@functools.cache
def _lock_sql(for_update: bool, by_number: bool, vendor: str) -> str:
    card_cols = ", ".join(f"c.{_col(f)}" for f in Card._meta.concrete_fields)
    program_cols = ", ".join(
        f"CAST(p.{_q(name)} AS TEXT)" if name in _JSON_COLUMNS else f"p.{_q(name)}"
        for name in _PROGRAM_COLUMNS
    )
    tier_cols = ", ".join(f"t.{_q(name)}" for name in _TIER_COLUMNS)
    from cueillette.loyalty.models import Program, Tier

    which = _q("number") if by_number else _q("id")
    card_id_sql = (
        f"(SELECT {_q('id')} FROM {_table(Card)} WHERE {_q('organization_id')} = %s"
        f" AND {_q('number')} = %s)"
        if by_number
        else "%s"
    )
    ledger = _ledger_parts(card_id_sql, f"c.{_q('expiries_checked_at')}")
    if vendor == "postgresql":
        # The subqueries read the statement's snapshot, taken before the lock was granted; the
        # card's columns are its latest version. If a writer committed on this card while this
        # statement waited for the lock, the two versions differ (every write to a card's
        # ledger updates the card: balance), and the ledger reads are redone after the lock.
        fresh = (
            f"CASE WHEN CAST(c.xmin AS TEXT) = (SELECT CAST(xmin AS TEXT) FROM {_table(Card)}"
            f" WHERE {_q('id')} = {card_id_sql}) THEN 1 ELSE 0 END"
        )
    else:
        fresh = "1"  # SQLite: the write transaction already holds the database
    sql = (
        f"SELECT {card_cols}, cu.{_q('birthday')}, {program_cols}, {tier_cols}, {fresh}, "
        f"{', '.join(ledger)} "
        f"FROM {_table(Card)} c "
        f"JOIN {_table(Customer)} cu ON cu.{_q('id')} = c.{_q('customer_id')} "
        f"JOIN {_table(Program)} p ON p.{_q('organization_id')} = c.{_q('organization_id')} "
        f"LEFT JOIN {_table(Tier)} t ON t.{_q('organization_id')} = c.{_q('organization_id')} "
        f"WHERE c.{which} = %s AND c.{_q('organization_id')} = %s "
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


def _found(row: Sequence[Any]) -> AfterLock:
    existing, due_flag, today, granted, bound = row
    return AfterLock(
        existing_purchase_id=None if existing is None else int(existing),
        expiry_due=bool(due_flag),
        earned_today=int(today or 0),
        profiling_consent=bool(granted),
        qualifying_bound=int(bound or 0),
    )


def lock_for_purchase(
    ref: int | CardNumber,
    organization_id: int,
    *,
    receipt: str,
    now: dt.datetime,
    day: tuple[dt.datetime, dt.datetime],
    since: dt.datetime,
    consent_purpose: str,
) -> Locked | None:
    """Lock the card (by id, or by number) and read, in one statement, what a purchase needs:
    the card, the customer's birthday, the program's rules, every tier, and the ledger reads
    of :class:`AfterLock` (the receipt, expiries due, today's points for a daily cap, the
    birthday consent, the tier's bound). None when there is no such card or no program yet.

    On PostgreSQL, when another writer on the card committed while this statement waited for
    the lock, the ledger reads are redone in a second statement (a new snapshot under READ
    COMMITTED sees what the other wrote: a till's parallel retry finds its receipt)."""
    by_number = isinstance(ref, CardNumber)
    card_params: list[Any] = [organization_id, ref.digits] if isinstance(ref, CardNumber) else [ref]
    ledger_params = _ledger_params(
        organization_id,
        card_params,
        receipt=receipt,
        now=now,
        checked=(),  # the locked card's own column
        day=day,
        since=since,
        consent_purpose=consent_purpose,
    )
    sql = _lock_sql(connection.features.has_select_for_update, by_number, connection.vendor)
    fresh_params = card_params if connection.vendor == "postgresql" else []
    where = [ref.digits if isinstance(ref, CardNumber) else ref, organization_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*fresh_params, *ledger_params, *where])
        rows = cursor.fetchall()
    if not rows:
        return None
    fields = Card._meta.concrete_fields
    first = rows[0]
    n = len(fields)
    card = rawsql.instance(Card, first[:n])
    birthday = _from_db(Customer, "birthday", first[n])
    program_row = tuple(first[n + 1 : n + 1 + len(_PROGRAM_COLUMNS)])
    tiers_at = n + 1 + len(_PROGRAM_COLUMNS)
    fresh_at = tiers_at + len(_TIER_COLUMNS)
    tier_rows = tuple(tuple(r[tiers_at:fresh_at]) for r in rows if r[tiers_at] is not None)
    found = _found(first[fresh_at + 1 : fresh_at + 1 + _LEDGER_WIDTH])
    if not first[fresh_at]:
        found = after_lock(
            card, receipt=receipt, now=now, day=day, since=since, consent_purpose=consent_purpose
        )
    return Locked(card, birthday, _program_rules(program_row), _tier_rules(tier_rows), found)


# --------------------------------------------------------------------------- after the lock


@functools.cache
def _after_lock_sql() -> str:
    from cueillette.loyalty.models import Program, Tier

    ledger = _ledger_parts("%s", "%s")
    return (
        f"SELECT {', '.join(ledger)} FROM {_table(Card)} c "
        f"JOIN {_table(Customer)} cu ON cu.{_q('id')} = c.{_q('customer_id')} "
        f"JOIN {_table(Program)} p ON p.{_q('organization_id')} = c.{_q('organization_id')} "
        f"LEFT JOIN {_table(Tier)} t ON t.{_q('organization_id')} = c.{_q('organization_id')} "
        f"WHERE c.{_q('id')} = %s AND c.{_q('organization_id')} = %s "
        f"ORDER BY t.{_q('threshold')} LIMIT 1"
    )


def after_lock(
    card: Card,
    *,
    receipt: str,
    now: dt.datetime,
    day: tuple[dt.datetime, dt.datetime],
    since: dt.datetime,
    consent_purpose: str,
) -> AfterLock:
    """The ledger reads of :class:`AfterLock` again, in a statement of their own (after the
    lock: its snapshot sees what a writer that held the lock committed)."""
    org = card.organization_id
    params = _ledger_params(
        org,
        [card.pk],
        receipt=receipt,
        now=now,
        checked=[_dt(card.expiries_checked_at)],
        day=day,
        since=since,
        consent_purpose=consent_purpose,
    )
    with connection.cursor() as cursor:
        cursor.execute(_after_lock_sql(), [*params, card.pk, org])
        return _found(cursor.fetchone())


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


class _PurchaseId:
    """The new purchase's id before it exists: an entry's ``purchase_id``, a value in an
    audit row's ``data`` (see :func:`write_purchase`)."""

    def __repr__(self) -> str:
        return "PURCHASE_ID"


PURCHASE_ID: Any = _PurchaseId()


def _with_id(row: Mapping[str, Any], purchase_id: int) -> dict[str, Any]:
    out = dict(row)
    for name, value in row.items():
        if value is PURCHASE_ID:
            out[name] = purchase_id
        elif isinstance(value, dict) and PURCHASE_ID in value.values():
            out[name] = {k: purchase_id if v is PURCHASE_ID else v for k, v in value.items()}
    return out


def _marks(row: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Where ``row`` names the purchase's id: (field, ()) for the field itself, (field, keys)
    for keys of a JSON value (the shape a statement is cached for)."""
    out = []
    for name, value in row.items():
        if value is PURCHASE_ID:
            out.append((name, ()))
        elif isinstance(value, dict) and PURCHASE_ID in value.values():
            out.append((name, tuple(k for k, v in value.items() if v is PURCHASE_ID)))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _insert_select_sql(
    model: type[models.Model], marks: tuple[tuple[str, tuple[str, ...]], ...]
) -> str:
    """``INSERT INTO model (...) SELECT ... FROM p``: values as parameters, the placeholder
    :data:`PURCHASE_ID` as ``p.id`` (in a JSON value: ``jsonb_set``)."""
    marked = dict(marks)
    values = []
    for f in rawsql.insert_fields(model):
        keys = marked.get(f.attname)
        if keys is None:
            values.append("%s")
        elif not keys:
            values.append("p.id")
        else:
            expr = "%s"
            for _k in keys:
                expr = f"jsonb_set({expr}, %s, to_jsonb(p.id))"
            values.append(expr)
    columns = ", ".join(_col(f) for f in rawsql.insert_fields(model))
    return f"INSERT INTO {_table(model)} ({columns}) SELECT {', '.join(values)} FROM p"


def _insert_select_params(
    model: type[models.Model], row: Mapping[str, Any], now: dt.datetime
) -> list[Any]:
    params: list[Any] = []
    for f in rawsql.insert_fields(model):
        value = row[f.attname] if f.attname in row else rawsql.default(f, now)
        if value is PURCHASE_ID:
            continue
        if isinstance(value, dict) and PURCHASE_ID in value.values():
            keys = [k for k, v in value.items() if v is PURCHASE_ID]
            rest = {k: v for k, v in value.items() if v is not PURCHASE_ID}
            params.append(rawsql.prep(f, rest))
            params += [[k] for k in keys]  # text[] paths
        else:
            params.append(rawsql.prep(f, value))
    return params


@functools.lru_cache(maxsize=64)
def _write_sql(
    entry_marks: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...],
    card_columns: tuple[str, ...],
    audit_marks: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...],
) -> str:
    ctes = [f"p AS ({rawsql.insert_sql(Purchase, 1, True)})"]
    ctes += [f"e{i} AS ({_insert_select_sql(PointsEntry, m)})" for i, m in enumerate(entry_marks)]
    ctes.append(
        f"c AS (UPDATE {_table(Card)} SET {_card_sets_sql(card_columns)} WHERE {_q('id')} = %s"
        f" AND {_q('organization_id')} = %s RETURNING {_q('balance')})"
    )
    ctes.append(
        f"u AS (UPDATE {_table(Customer)} SET {_q('last_activity_at')} = %s"
        f" WHERE {_q('id')} = %s AND {_q('organization_id')} = %s)"
    )
    ctes += [f"a{i} AS ({_insert_select_sql(AuditEvent, m)})" for i, m in enumerate(audit_marks)]
    return f"WITH {', '.join(ctes)} SELECT p.id, c.{_q('balance')} FROM p, c"


@functools.lru_cache(maxsize=64)
def _card_sets_sql(columns: tuple[str, ...]) -> str:
    sets = [f"{_q('balance')} = {_q('balance')} + %s"]
    sets += [f"{_col(_field(Card, name))} = %s" for name in columns]
    return ", ".join(sets)


def _card_params(balance_delta: int, card_values: Mapping[str, Any]) -> list[Any]:
    return [balance_delta] + [
        rawsql.prep(_field(Card, name), value) for name, value in card_values.items()
    ]


def write_purchase(
    purchase: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    card: Card,
    balance_delta: int,
    card_values: Mapping[str, Any],
    audits: Sequence[Mapping[str, Any]],
    touched_at: dt.datetime,
) -> tuple[int, int]:
    """Every write of a purchase: its row, its ledger entries, the card (``balance + delta``
    and ``card_values``), the customer's last activity, the audit rows. Entries and audit
    rows name the purchase's id with :data:`PURCHASE_ID`. Returns (purchase id, new balance).

    PostgreSQL: one statement of data-modifying CTEs (one round trip, all or nothing; the
    statement is built once per shape); SQLite (in process, no round trips): the same writes
    one after the other. An ``IntegrityError`` (the receipt recorded on another card in
    parallel) leaves before any other write of this purchase is kept."""
    org = card.organization_id
    if connection.vendor != "postgresql":
        (purchase_id,) = rawsql.insert_rows(Purchase, [purchase], returning=True)
        rawsql.insert_rows(PointsEntry, [_with_id(e, purchase_id) for e in entries])
        balance = update_card(card, balance_delta, card_values)
        touch_customer(card.customer_id, org, touched_at)
        rawsql.insert_rows(AuditEvent, [_with_id(a, purchase_id) for a in audits])
        return purchase_id, balance
    now = timezone.now()
    sql = _write_sql(
        tuple(_marks(e) for e in entries), tuple(card_values), tuple(_marks(a) for a in audits)
    )
    params = rawsql.insert_params(Purchase, [purchase])
    for row in entries:
        params += _insert_select_params(PointsEntry, row, now)
    params += [*_card_params(balance_delta, card_values), card.pk, org]
    params += [_dt(touched_at), card.customer_id, org]
    for row in audits:
        params += _insert_select_params(AuditEvent, row, now)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        purchase_id, balance = cursor.fetchone()
    return int(purchase_id), int(balance)


def update_card(card: Card, balance_delta: int, values: Mapping[str, Any]) -> int:
    """``balance = balance + delta`` and the other columns in one UPDATE; the new balance."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table(Card)} SET {_card_sets_sql(tuple(values))} WHERE {_q('id')} = %s"
            f" AND {_q('organization_id')} = %s RETURNING {_q('balance')}",
            [*_card_params(balance_delta, values), card.pk, card.organization_id],
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
