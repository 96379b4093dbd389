"""Importing many customers at once: every row validated, every bad row reported, fast.

One function, :func:`import_rows`, is the bulk path: the ``import_customers`` command uses it,
as will any API endpoint or upload page, and the benchmark measures it. It guarantees:

* every row goes through :func:`services.clean_customer_data` (the rules of the counter form),
  and every problem is reported with its line and field; good rows are imported;
* ``dry_run`` writes nothing; ``all_or_nothing`` writes nothing if any row is bad;
* duplicates (same normalised email or phone, within the file or with an existing active
  customer) are skipped and reported, or reported as errors (``duplicates="error"``);
* consents come from ``consent_<purpose>`` columns (yes/no, oui/non, 1/0, x), are recorded in
  the ledger against the *current* wording with ``source="import"``; an explicit "no" is recorded
  as a refusal, an empty cell records nothing;
* news by email needs a double opt-in: the grant is recorded only with the date the customer
  confirmed their address in the previous system (``consent_news_email_confirmed_at``, kept as
  evidence), or, with ``request_confirmations=True``, a confirmation email is sent and the grant
  waits for the customer's click. Otherwise the row is imported without that grant and a warning
  says so;
* rows are written with ``bulk_create`` in transactions of ``batch_size`` rows, and one audit
  row ``customers.imported`` (counts only, no personal data) describes the whole import.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from cueillette.core import audit, consequences
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence
from cueillette.core.errors import ServiceError
from cueillette.core.tenancy import current_org
from cueillette.customers.errors import Code
from cueillette.customers.models import (
    DOUBLE_OPT_IN_PURPOSES,
    PURPOSE_CHANNEL,
    Channel,
    ConsentEvent,
    ConsentWording,
    Customer,
    CustomerStatus,
    Purpose,
    Source,
)
from cueillette.customers.normalize import fold, phone_search_key
from cueillette.customers.services import (
    EDITABLE_FIELDS,
    CustomerInput,
    clean_customer_data,
    current_wording,
    parse_source,
    request_email_confirmation,
)

CONSENT_PREFIX = "consent_"
NEWS_EMAIL_EVIDENCE_COLUMN = "consent_news_email_confirmed_at"
CONSENT_COLUMNS = {f"{CONSENT_PREFIX}{p}": p for p in Purpose.values}
KNOWN_COLUMNS = frozenset(EDITABLE_FIELDS) | set(CONSENT_COLUMNS) | {NEWS_EMAIL_EVIDENCE_COLUMN}
# Column headers as exports from spreadsheets and other tools spell them (folded: lowercase,
# no accents, punctuation as spaces) -> our column names.
HEADER_ALIASES = {
    "nom": "last_name",
    "nom de famille": "last_name",
    "last name": "last_name",
    "surname": "last_name",
    "prenom": "first_name",
    "first name": "first_name",
    "e mail": "email",
    "mail": "email",
    "courriel": "email",
    "adresse e mail": "email",
    "telephone": "phone",
    "tel": "phone",
    "portable": "phone",
    "mobile": "phone",
    "phone number": "phone",
    "code postal": "postal_code",
    "cp": "postal_code",
    "postal code": "postal_code",
    "zip": "postal_code",
    "langue": "language",
    "date de naissance": "birthday",
    "naissance": "birthday",
    "anniversaire": "birthday",
    "birth date": "birthday",
    "remarques": "notes",
    "commentaire": "notes",
    "centres d interet": "tags",
    "interets": "tags",
    "interests": "tags",
}


def column_name(header: str) -> str:
    """Our name for a CSV header: ``"Prénom"`` -> ``first_name``; unknown names are kept."""
    text = (header or "").strip()
    if text.lower() in KNOWN_COLUMNS:
        return text.lower()
    folded = fold(text)
    return HEADER_ALIASES.get(folded, folded.replace(" ", "_") or text)


YES = frozenset({"yes", "y", "oui", "o", "1", "true", "vrai", "x"})
NO = frozenset({"no", "n", "non", "0", "false", "faux"})
DUPLICATE_MODES = ("skip", "error")
BATCH_SIZE = 2000
# Lookups of existing emails/phones are chunked to stay under SQLite's parameter limit.
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class RowIssue:
    """One problem of one row: the line in the file, the column, a stable code, a sentence."""

    line: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "code": self.code, "message": self.message}

    def __str__(self) -> str:
        return _("line %(line)d, %(field)s: %(message)s") % {
            "line": self.line,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class ImportReport:
    """What an import did (or would do, for a dry run)."""

    rows: int = 0
    # Valid, non-duplicate rows: what was (or, for a dry run, would be) created.
    importable: int = 0
    created: int = 0
    duplicates: int = 0
    consents: int = 0
    confirmations_requested: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    dry_run: bool = False
    all_or_nothing: bool = False
    written: bool = False

    @property
    def bad_lines(self) -> list[int]:
        return sorted({issue.line for issue in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "importable": self.importable,
            "created": self.created,
            "duplicates": self.duplicates,
            "bad_rows": len(self.bad_lines),
            "consents": self.consents,
            "confirmations_requested": self.confirmations_requested,
            "dry_run": self.dry_run,
            "all_or_nothing": self.all_or_nothing,
            "written": self.written,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
        }


@dataclass
class _Prepared:
    """A valid row, ready to write."""

    line: int
    values: dict[str, Any]  # Customer fields by attribute name
    grants: list[tuple[str, bool, dict[str, Any]]]
    confirm_news_email: bool


def _parse_yes_no(value: Any) -> bool | None:
    text = str(value if value is not None else "").strip().lower()
    if not text:
        return None
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(text)


def _parse_moment(value: str) -> dt.datetime:
    """An ISO date or date-time; naive values are read in the current time zone."""
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(12, 0))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _search_phone(e164: str) -> str:
    # Fast path for French numbers (the national significant number is what follows +33);
    # phone_search_key parses again, which is the slowest step of an import.
    if e164.startswith("+33"):
        return e164[3:]
    return phone_search_key(e164)


class _Importer:
    def __init__(
        self,
        *,
        actor: Actor,
        source: str,
        duplicates: str,
        request_confirmations: bool,
        report: ImportReport,
    ) -> None:
        self.actor = actor
        self.source = source
        self.duplicates = duplicates
        self.request_confirmations = request_confirmations
        self.report = report
        self.org = current_org()
        self.now = timezone.now()
        self.stamps = {"created_at": self.now, "updated_at": self.now, "last_activity_at": self.now}
        self.seen_emails: dict[str, int] = {}
        self.seen_phones: dict[str, int] = {}
        self.wordings: dict[tuple[str, str], ConsentWording] = {}
        self.checked_columns: set[frozenset[str]] = set()
        self.reported_columns: set[str] = set()

    # ----------------------------------------------------------------- validation

    def check_columns(self, row: Mapping[str, Any], line: int) -> None:
        columns = frozenset(k for k in row if k is not None)
        if columns in self.checked_columns:
            return
        self.checked_columns.add(columns)
        for name in sorted(columns - KNOWN_COLUMNS - self.reported_columns):
            self.reported_columns.add(name)
            self.report.warnings.append(
                RowIssue(
                    line,
                    name,
                    Code.INVALID,
                    _("column %(column)s is not known and was ignored") % {"column": name},
                )
            )

    def prepare(self, row: Mapping[str, Any], line: int) -> _Prepared | None:
        """Validate one row; report its problems and return None if it cannot be imported."""
        errors: list[RowIssue] = []
        data = {k: v for k, v in row.items() if k in EDITABLE_FIELDS}
        if None in row:
            errors.append(
                RowIssue(line, "row", Code.INVALID, _("this row has more cells than the header"))
            )
        try:
            cleaned = clean_customer_data(CustomerInput.of(data))
        except ServiceError as exc:
            cleaned = {}
            for err in exc.errors or [
                {"code": exc.code, "field": exc.field or "row", "message": exc.message}
            ]:
                errors.append(RowIssue(line, err["field"], err["code"], err["message"]))

        grants: list[tuple[str, bool, dict[str, Any]]] = []
        confirm = False
        for column, purpose in CONSENT_COLUMNS.items():
            if column not in row:
                continue
            try:
                decision = _parse_yes_no(row[column])
            except ValueError:
                errors.append(
                    RowIssue(
                        line,
                        column,
                        Code.INVALID,
                        _("%(column)s must be yes or no, not %(value)s")
                        % {"column": column, "value": str(row[column])[:40]},
                    )
                )
                continue
            if decision is None:
                continue
            if decision and not cleaned and errors:
                continue  # the row is already bad; channel checks would only add noise
            if decision:
                channel = PURPOSE_CHANNEL[purpose]
                if channel == Channel.EMAIL and not cleaned.get("email"):
                    errors.append(
                        RowIssue(
                            line,
                            column,
                            Code.NO_EMAIL_FOR_CONSENT,
                            _("an email address is needed for this purpose"),
                        )
                    )
                    continue
                if channel == Channel.SMS and not cleaned.get("phone"):
                    errors.append(
                        RowIssue(
                            line,
                            column,
                            Code.NO_PHONE_FOR_CONSENT,
                            _("a phone number is needed for this purpose"),
                        )
                    )
                    continue
            evidence: dict[str, Any] = {"import_line": line}
            if decision and purpose in DOUBLE_OPT_IN_PURPOSES:
                raw_proof = str(row.get(NEWS_EMAIL_EVIDENCE_COLUMN) or "").strip()
                if raw_proof:
                    try:
                        proof = _parse_moment(raw_proof)
                    except ValueError:
                        errors.append(
                            RowIssue(
                                line,
                                NEWS_EMAIL_EVIDENCE_COLUMN,
                                Code.INVALID,
                                _("%(column)s is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
                                % {"column": NEWS_EMAIL_EVIDENCE_COLUMN},
                            )
                        )
                        continue
                    if proof > self.now:
                        errors.append(
                            RowIssue(
                                line,
                                NEWS_EMAIL_EVIDENCE_COLUMN,
                                Code.INVALID,
                                _("%(column)s is in the future")
                                % {"column": NEWS_EMAIL_EVIDENCE_COLUMN},
                            )
                        )
                        continue
                    evidence["double_opt_in_confirmed_at"] = proof.isoformat()
                    evidence["double_opt_in_confirmed_in"] = "previous system"
                elif self.request_confirmations:
                    confirm = True
                    continue
                else:
                    self.report.warnings.append(
                        RowIssue(
                            line,
                            column,
                            Code.DOUBLE_OPT_IN_REQUIRED,
                            _(
                                "news by email was not recorded: give the date the customer "
                                "confirmed their address in %(column)s, or ask for "
                                "confirmation emails"
                            )
                            % {"column": NEWS_EMAIL_EVIDENCE_COLUMN},
                        )
                    )
                    continue
            grants.append((purpose, decision, evidence))

        if errors:
            self.report.errors.extend(errors)
            return None

        email = cleaned.get("email", "")
        phone = cleaned.get("phone", "")
        earlier = (email and self.seen_emails.get(email)) or (phone and self.seen_phones.get(phone))
        if earlier:
            self._duplicate(
                line,
                "email" if email and self.seen_emails.get(email) else "phone",
                _("same %(field)s as line %(line)d")
                % {
                    "field": "email" if email and self.seen_emails.get(email) else "phone",
                    "line": earlier,
                },
            )
            return None
        if email:
            self.seen_emails[email] = line
        if phone:
            self.seen_phones[phone] = line

        last, first = cleaned.get("last_name", ""), cleaned.get("first_name", "")
        values = {
            **cleaned,
            "organization_id": self.org.pk,
            "source": self.source,
            "search_last": fold(last)[:100] if last else "",
            "search_first": fold(first)[:100] if first else "",
            "search_phone": _search_phone(phone) if phone else "",
        }
        return _Prepared(line, values, grants, confirm)

    def _duplicate(self, line: int, field_name: str, message: str) -> None:
        if self.duplicates == "error":
            self.report.errors.append(RowIssue(line, field_name, Code.DUPLICATE, message))
        else:
            self.report.duplicates += 1
            self.report.warnings.append(
                RowIssue(line, field_name, Code.DUPLICATE, _("skipped: %(why)s") % {"why": message})
            )

    def drop_existing(self, batch: list[_Prepared]) -> list[_Prepared]:
        """Remove (and report) rows whose email or phone an active customer already has."""
        batch = self._drop_existing(batch)
        self.report.importable += len(batch)
        return batch

    def _drop_existing(self, batch: list[_Prepared]) -> list[_Prepared]:
        emails = [p.values["email"] for p in batch if p.values.get("email")]
        phones = [p.values["phone"] for p in batch if p.values.get("phone")]
        taken_emails = self._taken("email", emails)
        taken_phones = self._taken("phone", phones)
        if not taken_emails and not taken_phones:
            return batch
        kept = []
        for p in batch:
            if p.values.get("email") in taken_emails:
                self._duplicate(p.line, "email", _("a customer with this email already exists"))
            elif p.values.get("phone") in taken_phones:
                self._duplicate(p.line, "phone", _("a customer with this phone already exists"))
            else:
                kept.append(p)
        return kept

    def _taken(self, column: str, values: list[str]) -> set[str]:
        """Which of ``values`` an active customer of this organization already has.

        Plain SQL: the ORM takes longer to compile a 500-item IN list than the database
        takes to answer it (from the (organization, email/phone) index).
        """
        taken: set[str] = set()
        if not values:
            return taken
        connection = connections[router.db_for_read(Customer)]
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            for i in range(0, len(values), LOOKUP_CHUNK):
                part = values[i : i + LOOKUP_CHUNK]
                # Identifiers are constants of this module; values are bound parameters.
                sql = "SELECT {col} FROM {table} WHERE {org} = %s AND {st} = %s AND {col} {m}"
                postgres = connection.vendor == "postgresql"
                sql = sql.format(
                    col=qn(column),
                    table=qn(Customer._meta.db_table),
                    org=qn("organization_id"),
                    st=qn("status"),
                    m="= ANY(%s)" if postgres else "IN ({})".format(", ".join(["%s"] * len(part))),
                )
                args = [part] if postgres else part
                cursor.execute(sql, [self.org.pk, CustomerStatus.ACTIVE.value, *args])
                taken.update(row[0] for row in cursor.fetchall())
        return taken

    # ----------------------------------------------------------------- writing

    def wording(self, purpose: str, language: str) -> ConsentWording:
        key = (purpose, language)
        if key not in self.wordings:
            self.wordings[key] = current_wording(purpose, language)
        return self.wordings[key]

    def write(self, batch: list[_Prepared]) -> None:
        """Insert one batch of customers and their consent entries (inside a transaction)."""
        now = self.stamps
        customers = RowInserter(Customer, now)
        events = RowInserter(ConsentEvent, {"occurred_at": self.now, "recorded_at": self.now})
        ids = customers.insert([p.values for p in batch], returning=True)
        kind, label = self.actor.kind, self.actor.label[:200]
        user_id = self.actor.user.pk if self.actor.user is not None else None
        event_rows = []
        confirm = []
        for p, customer_id in zip(batch, ids, strict=True):
            language = p.values.get("language") or "fr"
            for purpose, granted, evidence in p.grants:
                wording = self.wording(purpose, language)
                event_rows.append(
                    {
                        "organization_id": self.org.pk,
                        "customer_id": customer_id,
                        "purpose": purpose,
                        "channel": PURPOSE_CHANNEL[purpose],
                        "granted": granted,
                        "source": self.source,
                        "wording_id": wording.pk,
                        "wording_hash": wording.text_hash,
                        "actor_kind": kind,
                        "actor_user_id": user_id,
                        "actor_label": label,
                        "evidence": evidence,
                    }
                )
            if p.confirm_news_email:
                confirm.append(customer_id)
        event_ids = events.insert(event_rows, returning=True)
        self.fire(
            customers.instances(ids, [p.values for p in batch]), events, event_rows, event_ids
        )
        for customer in Customer.objects.filter(pk__in=confirm) if confirm else ():
            request_email_confirmation(
                customer,
                Purpose.NEWS_EMAIL,
                source=self.source,
                actor=self.actor,
                wording=self.wording(Purpose.NEWS_EMAIL, customer.language),
            )
            self.report.confirmations_requested += 1
        self.report.created += len(ids)
        self.report.consents += len(event_rows)

    def fire(
        self,
        new_customers: list[Customer],
        events: RowInserter,
        event_rows: list[dict[str, Any]],
        event_ids: list[int],
    ) -> None:
        """What every other door fires, per row: CUSTOMER_JOINED, then CONSENT_CHANGED per
        ledger entry. The instances are built from the rows just written (no query), and
        subscribers with a batch handler hear each list once (loyalty issues a batch's cards
        in one INSERT)."""
        if not (
            consequences.subscribers(Consequence.CUSTOMER_JOINED)
            or (event_ids and consequences.subscribers(Consequence.CONSENT_CHANGED))
        ):
            return
        source = str(self.source)
        customers = {c.pk: c for c in new_customers}
        consequences.fire_many(
            Consequence.CUSTOMER_JOINED,
            organization_id=self.org.pk,
            payloads=[
                {"customer": c, "source": source, "actor": self.actor} for c in customers.values()
            ],
        )
        wordings = {w.pk: w for w in self.wordings.values()}
        payloads = []
        # The related rows are cached on each event, as ``select_related`` would.
        cache_wording = ConsentEvent._meta.get_field("wording").set_cached_value
        cache_customer = ConsentEvent._meta.get_field("customer").set_cached_value
        for row, event in zip(event_rows, events.instances(event_ids, event_rows), strict=True):
            cache_wording(event, wordings[row["wording_id"]])
            cache_customer(event, customers[row["customer_id"]])
            payloads.append(
                {
                    "customer": event.customer,
                    "purpose": event.purpose,
                    "granted": event.granted,
                    "event": event,
                    "source": source,
                    "actor": self.actor,
                }
            )
        consequences.fire_many(
            Consequence.CONSENT_CHANGED, organization_id=self.org.pk, payloads=payloads
        )


class RowInserter:
    """Multi-row INSERTs of plain dicts, with the values Django would write.

    ``bulk_create`` builds a model instance per row and prepares every field of every row;
    an import row has a dozen plain strings, so this converts only the fields that need it
    (dates, JSON) and prepares the constant values of ``fixed`` once (they win over a row's
    value). A value missing from a row is the field's default: ``auto_now`` fields must be
    given in ``fixed`` or in every row. Like
    ``bulk_create`` it bypasses ``Model.save``: callers set ``organization_id`` and keep the
    model's invariants (search keys, ledger rules). Returned ids follow the VALUES order, as
    Django's own ``bulk_create`` relies on for SQLite and PostgreSQL.
    """

    PREPARED = ("DateField", "DateTimeField", "JSONField", "DecimalField")

    def __init__(self, model: type[models.Model], fixed: Mapping[str, Any]) -> None:
        self.model = model
        self.fixed = dict(fixed)
        self.connection = connections[router.db_for_write(model)]
        self.sqlite = self.connection.vendor == "sqlite"
        # Columns in three groups: plain values, values to prepare, constants (``fixed``,
        # prepared once; they win over a row's value).
        self.plain: list[tuple[str, Any]] = []
        self.prepared: list[tuple[str, Any, Any]] = []
        self.constants: list[Any] = []
        plain, prepared, constant = [], [], []
        for f in model._meta.concrete_fields:
            if f.primary_key:
                continue
            prep = f.get_internal_type() in self.PREPARED
            if f.attname in fixed:
                constant.append(f)
                value = fixed[f.attname]
                self.constants.append(self._prep(f, value) if prep else value)
            elif prep:
                prepared.append(f)
                self.prepared.append((f.attname, f.get_default(), f))
            else:
                plain.append(f)
                self.plain.append((f.attname, f.get_default()))
        self.fields = plain + prepared + constant
        qn = self.connection.ops.quote_name
        # Identifiers come from the model's metadata, never from the file.
        self.head = "INSERT INTO {} ({}) VALUES ".format(  # noqa: S608
            qn(model._meta.db_table), ", ".join(qn(str(f.column)) for f in self.fields)
        )
        # SQLite is given "?" placeholders directly (see insert()).
        mark = "?" if self.sqlite else "%s"
        self.one = "(" + ", ".join([mark] * len(self.fields)) + ")"
        pk = model._meta.pk
        assert pk is not None
        self.returning = " RETURNING " + qn(str(pk.column))
        # Stay well under SQLite's 32,766 bound parameters per statement.
        self.chunk = max(1, min(1000, 30_000 // len(self.fields)))
        self._empty: dict[str, Any] = {}
        self.postgres = self.connection.vendor == "postgresql"
        self.copy = False
        if self.postgres:
            # PostgreSQL: one array parameter per column, unnested in order. psycopg parses
            # the placeholders of a query on the client, which costs more than the INSERT
            # itself when a VALUES list has tens of thousands of them.
            names = [f"c{i}" for i in range(len(self.fields))]
            arrays = ", ".join(f"%s::{f.db_type(self.connection)}[]" for f in self.fields)
            self.head = (  # noqa: S608 (identifiers and types from the model's metadata)
                "INSERT INTO {table} ({cols}) SELECT {names} FROM unnest({arrays}) "
                "WITH ORDINALITY AS u({names}, n) ORDER BY n"
            ).format(
                table=qn(model._meta.db_table),
                cols=", ".join(qn(str(f.column)) for f in self.fields),
                names=", ".join(names),
                arrays=arrays,
            )
            self.chunk = 5000
            # Binary COPY for the rows themselves (see _copy): the types of the columns as
            # psycopg names them ("varchar(100)" -> "varchar"), and the id sequence.
            self.copy_types = [
                str(f.db_type(self.connection)).split("(")[0].strip() for f in self.fields
            ]
            # JSON columns with an encoder of their own (None: psycopg's json.dumps).
            self.json_columns = [
                (i, functools.partial(json.dumps, cls=getattr(f, "encoder", None)))
                for i, f in enumerate(self.fields)
                if f.get_internal_type() == "JSONField" and getattr(f, "encoder", None) is not None
            ]
            self.copy_sql = "COPY {table} ({pk}, {cols}) FROM STDIN (FORMAT BINARY)".format(
                table=qn(model._meta.db_table),
                pk=qn(str(pk.column)),
                cols=", ".join(qn(str(f.column)) for f in self.fields),
            )
            self.nextval = (
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)"
            )
            self.seq_args = [model._meta.db_table, str(pk.column)]
            self.pk_type = pk.db_type(self.connection)
            self.copy_constants = [fixed[f.attname] for f in constant]
            # Only a sequence-backed id can be drawn beforehand.
            self.copy = isinstance(pk, models.AutoField)

    @functools.cached_property
    def _instance_layout(self) -> tuple[list[str], int, list[tuple[str, Any]]]:
        """For :meth:`instances`: every concrete field's name, where the id goes, and for the
        other fields the value written when a row lacks it (``fixed``, else the default)."""
        concrete = self.model._meta.concrete_fields
        defaults = {a: d for a, d in self.plain} | {a: d for a, d, _f in self.prepared}
        defaults |= self.fixed
        return (
            [str(f.attname) for f in concrete],
            next(i for i, f in enumerate(concrete) if f.primary_key),
            [(f.attname, defaults.get(f.attname)) for f in concrete if not f.primary_key],
        )

    def instances(self, ids: Sequence[int], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The model instances of rows just inserted with ``ids``, as the ORM would read them
        back (every concrete field set, not "adding"), with the values this inserter wrote:
        the row's, else the field's default, with ``fixed`` winning. No query."""
        names, pk_at, layout = self._instance_layout
        fixed_names = self.fixed.keys()
        db = self.connection.alias
        model = self.model
        new = model.__new__
        out = []
        # Filled as Django unpickles an instance (``Model.__setstate__``): the attributes
        # straight into ``__dict__``, state "from the database". ``__init__`` would pass every
        # foreign key through its descriptor, which costs more than the import's own checks.
        for pk, row in zip(ids, rows, strict=True):
            get = row.get
            values = [
                default if attname in fixed_names else get(attname, default)
                for attname, default in layout
            ]
            values.insert(pk_at, pk)
            obj = new(model)
            obj.__dict__.update(zip(names, values, strict=True))
            state = ModelState()
            state.adding = False
            state.db = db
            obj._state = state
            out.append(obj)
        return out

    def _prep(self, field: Any, value: Any) -> Any:
        if value is not None and self.sqlite and field.get_internal_type() == "JSONField":
            # What JSONField.get_db_prep_save gives on SQLite, without its expression checks.
            return json.dumps(value, cls=field.encoder)
        return field.get_db_prep_save(value, connection=self.connection)

    def values(self, row: Mapping[str, Any]) -> list[Any]:
        get = row.get
        out = [get(attname, default) for attname, default in self.plain]
        for attname, default, model_field in self.prepared:
            value = get(attname, default)
            if value is None or value == [] or value == {}:
                # Empty JSON or NULL is frequent: prepare it once.
                key = f"{attname}:{value!r}"
                if key not in self._empty:
                    self._empty[key] = self._prep(model_field, value)
                value = self._empty[key]
            else:
                value = self._prep(model_field, value)
            out.append(value)
        out.extend(self.constants)
        return out

    def copy_values(self, row: Mapping[str, Any]) -> list[Any]:
        """A row's values for binary COPY: Python values as they are (psycopg's binary
        dumpers of the column types write dates, Decimals, booleans, JSON)."""
        get = row.get
        out = [get(attname, default) for attname, default in self.plain]
        out.extend(get(attname, default) for attname, default, _f in self.prepared)
        out.extend(self.copy_constants)
        return out

    def _copy(self, rows: list[dict[str, Any]], returning: bool) -> list[int]:
        """PostgreSQL: ids drawn from the table's sequence first (no RETURNING needed), then
        the rows in one binary ``COPY ... FROM STDIN``: the driver writes each value once, with
        no query text to parse and no array to build."""
        from psycopg.types.json import Jsonb

        n = len(rows)
        with self.connection.wrap_database_errors, self.connection.cursor() as django_cursor:
            cursor = django_cursor.cursor  # psycopg's own cursor, in Django's transaction
            cursor.execute(self.nextval, [*self.seq_args, n])
            ids = sorted(r[0] for r in cursor.fetchall())
            json_columns = self.json_columns
            with cursor.copy(self.copy_sql) as copy:
                copy.set_types([self.pk_type, *self.copy_types])
                write = copy.write_row
                for pk, row in zip(ids, rows, strict=True):
                    values = self.copy_values(row)
                    for i, dumps in json_columns:
                        values[i] = Jsonb(values[i], dumps=dumps)
                    write([pk, *values])
        return ids if returning else []

    def insert(self, rows: list[dict[str, Any]], *, returning: bool = False) -> list[int]:
        if not rows:
            return []
        if self.postgres and self.copy:
            return self._copy(rows, returning)
        ids: list[int] = []
        with self.connection.cursor() as cursor:
            for i in range(0, len(rows), self.chunk):
                part = rows[i : i + self.chunk]
                if self.postgres:
                    sql = self.head
                    params = [
                        list(col) for col in zip(*(self.values(r) for r in part), strict=True)
                    ]
                else:
                    sql = self.head + ", ".join([self.one] * len(part))
                    params = [v for row in part for v in self.values(row)]
                if returning:
                    sql += self.returning
                if self.sqlite:
                    # Django's SQLite cursor rewrites %s into ? with a regex over the whole
                    # statement, which takes longer than the INSERT itself for 20,000
                    # parameters: the driver gets ? placeholders, in the same transaction.
                    raw = cursor.connection.execute(sql, params)
                    rows_back = raw.fetchall() if returning else []
                else:
                    cursor.execute(sql, params)
                    rows_back = cursor.fetchall() if returning else []
                ids.extend(r[0] for r in rows_back)
        return ids


Row = Mapping[str, Any]


def _numbered(rows: Iterable[Row | tuple[int, Row]], first_line: int) -> Iterator[tuple[int, Row]]:
    line = first_line
    for item in rows:
        if isinstance(item, tuple):
            yield item
            line = item[0] + 1
        else:
            yield line, item
            line += 1


def csv_rows(reader: Any) -> Iterator[tuple[int, Row]]:
    """(line, row) pairs of a ``csv.DictReader``: the physical line, blank lines counted."""
    for row in reader:
        yield reader.line_num, row


def import_rows(
    rows: Iterable[Row | tuple[int, Row]],
    *,
    actor: Actor,
    source: str = Source.IMPORT,
    dry_run: bool = False,
    all_or_nothing: bool = False,
    duplicates: str = "skip",
    request_confirmations: bool = False,
    first_line: int = 2,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import customers (and their consents) into the current organization.

    ``rows`` are mappings of column name to cell text (API objects, ``csv.DictReader`` rows),
    or ``(line, mapping)`` pairs (see :func:`csv_rows`). Otherwise lines are counted from
    ``first_line`` (2: the line after a CSV header). See the module docstring for guarantees.
    """
    source = parse_source(source)
    if duplicates not in DUPLICATE_MODES:
        raise ServiceError(Code.INVALID, _("duplicates must be skip or error"), field="duplicates")
    report = ImportReport(dry_run=dry_run, all_or_nothing=all_or_nothing)
    importer = _Importer(
        actor=actor,
        source=source,
        duplicates=duplicates,
        request_confirmations=request_confirmations,
        report=report,
    )

    def batches() -> Iterator[list[_Prepared]]:
        batch: list[_Prepared] = []
        for line, row in _numbered(rows, first_line):
            report.rows += 1
            importer.check_columns(row, line)
            prepared = importer.prepare(row, line)
            if prepared is not None:
                batch.append(prepared)
            if len(batch) >= batch_size:
                yield importer.drop_existing(batch)
                batch = []
        if batch:
            yield importer.drop_existing(batch)

    if dry_run:
        for _batch in batches():
            pass
        return report

    if all_or_nothing:
        # One transaction: batches are written while the file is read, and everything is
        # rolled back at the end if any row was bad. Writing stops at the first bad row.
        with transaction.atomic():
            for batch in batches():
                if not report.errors and batch:
                    importer.write(batch)
            if report.errors:
                transaction.set_rollback(True)
                report.created = report.consents = report.confirmations_requested = 0
                return report
            _audit(actor, report)
        report.written = report.created > 0
        return report

    for batch in batches():
        if batch:
            with transaction.atomic():
                importer.write(batch)
    if report.rows:
        with transaction.atomic():
            _audit(actor, report)
    report.written = report.created > 0
    return report


def _audit(actor: Actor, report: ImportReport) -> None:
    audit.record(
        actor,
        "customers.imported",
        object_type="import",
        rows=report.rows,
        created=report.created,
        duplicates=report.duplicates,
        bad_rows=len(report.bad_lines),
        consents=report.consents,
        confirmations_requested=report.confirmations_requested,
        all_or_nothing=report.all_or_nothing,
    )


SNIFF_BYTES = 64 * 1024


def dict_reader(handle: Any, delimiter: str | None = None) -> csv.DictReader[str]:
    """A DictReader over a text handle, guessing the delimiter (; , tab |) unless given, with
    headers mapped to column names (French headers such as "Prénom" understood)."""
    if delimiter:
        reader = csv.DictReader(handle, dialect=csv.excel, delimiter=delimiter)
    else:
        sample = handle.read(SNIFF_BYTES)
        handle.seek(0)
        dialect: type[csv.Dialect] | csv.Dialect
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=";,\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(handle, dialect=dialect)
    if reader.fieldnames:
        reader.fieldnames = [column_name(name) for name in reader.fieldnames]
    return reader
