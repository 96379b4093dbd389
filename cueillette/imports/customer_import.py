"""The customer import engine: one batch of rows -> customers, consent entries, suppressions.

What it guarantees, for every layout:

* every row goes through the counter's validation (``customers.services.clean_customer_data``,
  ``normalize.parse_phone``); a bad row is reported (line, column, the true reason) and
  writes nothing; the others are imported;
* a row whose normalised email or phone (case-insensitive) matches an active customer fills
  that record's empty fields (``updated``; ``skipped`` when nothing changes, e.g. a re-run),
  and a row matching an earlier row of the same file is folded into it (``merged``);
* consent is never invented: a grant is recorded only for a column whose basis the importing
  person stated (double opt-in, single opt-in, paper), news by email only with the date of
  its confirmation (Mailchimp's CONFIRM_TIME / OPTIN_TIME) — ``source=import`` and the basis,
  tool, times and IP as evidence;
* Mailchimp's unsubscribed rows become withdrawals and its cleaned rows suppressions (plus a
  withdrawal); a withdrawal or suppression wins over any grant of any file, whatever the order
  of import: a later grant is not recorded over a withdrawal, and a withdrawal is recorded at
  the import's time so it is the latest entry;
* nothing is emailed; one audit row per batch (counts only);
* writes of a batch happen in the caller's transaction (see ``services.process``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, router
from django.utils.translation import gettext as _

from cueillette.core import audit, consequences
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence, LazyPayload
from cueillette.core.errors import ServiceError
from cueillette.customers.bulk import RowInserter, _search_phone
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
from cueillette.customers.normalize import fold, parse_phone
from cueillette.customers.services import (
    CustomerInput,
    clean_customer_data,
    current_wording,
    health_tag_warnings,
)
from cueillette.imports.errors import Code
from cueillette.imports.layouts import CustomerLayout, CustomerRecord, Issue
from cueillette.imports.models import (
    ConsentBasis,
    ExternalCustomerId,
    Import,
    Suppression,
    SuppressionReason,
)
from cueillette.imports.sale_import import _values_in

BASES = frozenset(ConsentBasis.values)
PURPOSE_LABELS = {p.value: p.label for p in Purpose}
TOOL_NAMES = {"mailchimp": "Mailchimp", "shopify": "Shopify", "csv": "a spreadsheet"}
FILL_FIELDS = ("first_name", "last_name", "email", "phone", "postal_code", "birthday")
COUNT_KEYS = (
    "rows", "created", "updated", "merged", "skipped", "bad", "consent_entries",
    "withdrawals", "suppressed", "warnings", "consents_not_recorded",
)  # fmt: skip


@dataclass(eq=False)
class Target:
    """Where a row's data goes: a customer to create (``id`` None) or an existing one."""

    values: dict[str, Any]
    id: int | None = None
    created_here: bool = False  # created by this import (this batch or an earlier one)
    changes: dict[str, Any] = field(default_factory=dict)
    decisions: list[tuple[str, bool, dict[str, Any], int]] = field(default_factory=list)
    externals: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    suppress: dict[str, Any] | None = None
    first_line: int = 0
    # Rows that matched a customer from before this import: (fields changed, line).
    row_kinds: list[tuple[bool, int]] = field(default_factory=list)


@dataclass
class BatchResult:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    issues: list[tuple[int, Issue]] = field(default_factory=list)


def _validate(rec: CustomerRecord) -> dict[str, Any] | None:
    data = {k: v for k, v in rec.fields.items() if k != "phone" and v not in (None, "", [])}
    errors: list[Issue] = []
    cleaned: dict[str, Any] = {}
    try:
        cleaned = clean_customer_data(CustomerInput.of(data), partial=True)
    except ServiceError as exc:
        for err in exc.errors or [
            {"field": exc.field or "row", "code": exc.code, "message": exc.message}
        ]:
            errors.append(
                Issue(rec.columns.get(err["field"], err["field"]), err["code"], err["message"])
            )
    phone = str(rec.fields.get("phone") or "")
    if phone:
        try:
            e164, warning = parse_phone(phone, rec.region)
        except ServiceError as exc:
            errors.append(Issue(rec.columns.get("phone", "phone"), exc.code, exc.message))
        else:
            cleaned["phone"] = e164
            if warning:
                rec.issues.append(
                    Issue(
                        rec.columns.get("phone", "phone"),
                        Code.PHONE_UNALLOCATED,
                        warning,
                        error=False,
                    )
                )
    if not errors and not (
        cleaned.get("first_name")
        or cleaned.get("last_name")
        or cleaned.get("email")
        or cleaned.get("phone")
    ):
        errors.append(Issue("row", Code.REQUIRED, _("a name, an email or a phone is needed")))
    rec.issues.extend(errors)
    return None if errors else cleaned


class CustomerImporter:
    """Imports batches of one file's records (see the module docstring)."""

    def __init__(self, imp: Import, layout: CustomerLayout, actor: Actor, *, dry_run: bool) -> None:
        self.imp = imp
        self.layout = layout
        self.actor = actor
        self.dry_run = dry_run
        self.org_id = imp.organization_id
        assert imp.started_at is not None
        self.started_at: dt.datetime = imp.started_at
        self.basis: dict[str, str] = dict(imp.options.get("consent_basis") or {})
        self.tool = layout.system
        self.wordings: dict[tuple[str, str], ConsentWording] = {}
        # Dry runs write nothing, so rows seen earlier in the file are remembered here (as
        # hashes) to tell merges from creations; real runs ask the database instead.
        self.seen: set[int] = set()
        self.not_recorded: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------------ lookups

    def _existing(self, column: str, values: list[str]) -> dict[str, tuple[int, dt.datetime]]:
        if not values:
            return {}
        connection = connections[router.db_for_read(Customer)]
        qn = connection.ops.quote_name
        postgres = connection.vendor == "postgresql"
        out: dict[str, tuple[int, dt.datetime]] = {}
        # PostgreSQL takes the whole batch as one array; SQLite's IN lists stay under its
        # parameter limit.
        step = len(values) if postgres else 500
        with connection.cursor() as cursor:
            for i in range(0, len(values), step):
                part = values[i : i + step]
                # Identifiers are constants; values are bound parameters.
                sql = "SELECT {col}, id, created_at FROM {table} WHERE organization_id = %s AND status = %s AND {col} {m} ORDER BY id".format(  # noqa: S608, E501
                    col=qn(column),
                    table=qn(Customer._meta.db_table),
                    m="= ANY(%s)" if postgres else "IN ({})".format(", ".join(["%s"] * len(part))),
                )
                args = [part] if postgres else part
                cursor.execute(sql, [self.org_id, CustomerStatus.ACTIVE.value, *args])
                for value, pk, created in cursor.fetchall():
                    if value not in out:
                        if isinstance(created, str):
                            created = dt.datetime.fromisoformat(created)
                        if created.tzinfo is None:  # SQLite hands back UTC text
                            created = created.replace(tzinfo=dt.UTC)
                        out[value] = (pk, created)
        return out

    def _created_here(self, created: dt.datetime) -> bool:
        return abs((created - self.started_at).total_seconds()) < 0.001

    def wording(self, purpose: str, language: str) -> ConsentWording:
        k = (purpose, language)
        if k not in self.wordings:
            self.wordings[k] = current_wording(purpose, language)
        return self.wordings[k]

    # ------------------------------------------------------------------ decisions

    def _warn(self, result: BatchResult, line: int, issue: Issue) -> None:
        result.issues.append((line, issue))
        result.counts["warnings"] += 1

    def _grant_evidence(
        self, rec: CustomerRecord, purpose: str, column: str, result: BatchResult
    ) -> dict[str, Any] | None:
        basis = self.basis.get(column, ConsentBasis.NONE)
        if basis not in BASES or basis == ConsentBasis.NONE:
            self.not_recorded[(column, "none")] = self.not_recorded.get((column, "none"), 0) + 1
            result.counts["consents_not_recorded"] += 1
            return None
        channel = PURPOSE_CHANNEL[purpose]
        if channel == Channel.EMAIL and not rec.fields.get("email"):
            self._warn(
                result,
                rec.line,
                Issue(
                    column,
                    Code.CONSENT_NOT_RECORDED,
                    _("not recorded: the row has no email address"),
                    error=False,
                ),
            )
            result.counts["consents_not_recorded"] += 1
            return None
        if channel == Channel.SMS and not rec.fields.get("phone"):
            self._warn(
                result,
                rec.line,
                Issue(
                    column,
                    Code.CONSENT_NOT_RECORDED,
                    _("not recorded: the row has no phone number"),
                    error=False,
                ),
            )
            result.counts["consents_not_recorded"] += 1
            return None
        today = self.started_at.date().isoformat()
        tool = TOOL_NAMES.get(self.tool, self.tool)
        evidence: dict[str, Any] = {
            "basis": basis,
            "imported_from": self.tool,
            "note": f"imported from {tool} on {today}",
            "import_id": self.imp.pk,
            "import_line": rec.line,
            "import_column": column,
        }
        for name in (
            "optin_time",
            "optin_ip",
            "confirm_time",
            "confirm_ip",
            "last_changed",
            "member_rating",
        ):
            if name in rec.evidence:
                evidence[name] = rec.evidence[name]
        if purpose in DOUBLE_OPT_IN_PURPOSES:
            confirmed = rec.evidence.get("confirm_time") or rec.evidence.get("optin_time")
            if basis != ConsentBasis.DOUBLE_OPT_IN:
                self.not_recorded[(column, "single")] = (
                    self.not_recorded.get((column, "single"), 0) + 1
                )
                result.counts["consents_not_recorded"] += 1
                return None
            if not confirmed:
                self._warn(
                    result,
                    rec.line,
                    Issue(
                        column,
                        Code.CONSENT_NOT_RECORDED,
                        _(
                            "news by email not recorded: the file gives no date of the email confirmation"  # noqa: E501
                        ),
                        error=False,
                    ),
                )
                result.counts["consents_not_recorded"] += 1
                return None
            evidence["double_opt_in_confirmed_at"] = confirmed
            evidence["double_opt_in_confirmed_in"] = tool
        return evidence

    def _decide(self, rec: CustomerRecord, target: Target, result: BatchResult) -> None:
        for purpose, column, granted in rec.consents:
            if granted:
                evidence = self._grant_evidence(rec, purpose, column, result)
                if evidence is not None:
                    target.decisions.append((purpose, True, evidence, rec.line))
            else:
                target.decisions.append(
                    (
                        purpose,
                        False,
                        {
                            "imported_from": self.tool,
                            "import_id": self.imp.pk,
                            "import_line": rec.line,
                            "import_column": column,
                        },
                        rec.line,
                    )
                )
        if rec.status in ("unsubscribed", "cleaned"):
            evidence = {
                "imported_from": self.tool,
                "mailchimp_status": rec.status,
                "note": f"imported from {TOOL_NAMES.get(self.tool, self.tool)} on {self.started_at.date().isoformat()}",  # noqa: E501
                "import_id": self.imp.pk,
                "import_line": rec.line,
                **{
                    k: v
                    for k, v in rec.evidence.items()
                    if k.startswith(("unsub", "clean", "optin", "confirm"))
                },
            }
            target.decisions.append((Purpose.NEWS_EMAIL, False, evidence, rec.line))
            if rec.status == "cleaned" and rec.fields.get("email"):
                target.suppress = evidence

    # ------------------------------------------------------------------ batch

    def run(self, records: Iterable[CustomerRecord]) -> BatchResult:
        result = BatchResult()
        valid: list[tuple[CustomerRecord, dict[str, Any]]] = []
        for rec in records:
            result.counts["rows"] += 1
            # Every problem of a row is reported at once, not only the first one found.
            cleaned = _validate(rec) if rec.fields else None
            if cleaned is None or rec.bad:
                result.counts["bad"] += 1
            else:
                rec.fields = cleaned
                valid.append((rec, cleaned))
            for issue in rec.issues:
                result.issues.append((rec.line, issue))
                if not issue.error:
                    result.counts["warnings"] += 1
        emails = sorted({c["email"] for _r, c in valid if c.get("email")})
        phones = sorted({c["phone"] for _r, c in valid if c.get("phone")})
        by_email = self._existing("email", emails)
        by_phone = self._existing("phone", phones)
        existing_ids = sorted({v[0] for v in (*by_email.values(), *by_phone.values())})
        current = (
            {
                c["id"]: c
                for c in Customer.objects.filter(pk__in=existing_ids).values(
                    "id", *FILL_FIELDS, "notes", "tags", "language"
                )
            }
            if existing_ids
            else {}
        )
        targets: list[Target] = []
        pending_email: dict[str, Target] = {}
        pending_phone: dict[str, Target] = {}
        by_id: dict[int, Target] = {}
        for rec, cleaned in valid:
            email, phone = cleaned.get("email", ""), cleaned.get("phone", "")
            hit = (email and by_email.get(email)) or (phone and by_phone.get(phone)) or None
            target: Target | None = None
            if hit:
                pk, created = hit
                target = by_id.get(pk)
                if target is None:
                    target = Target(
                        values=dict(current.get(pk, {})),
                        id=pk,
                        created_here=self._created_here(created),
                        first_line=rec.line,
                    )
                    by_id[pk] = target
                    targets.append(target)
                    kind = "merged" if target.created_here else "update?"
                else:
                    kind = "merged"
            else:
                target = (
                    (email and pending_email.get(email))
                    or (phone and pending_phone.get(phone))
                    or None
                )
                if target is not None:
                    kind = "merged"
                else:
                    keys = [hash(("e", email)) if email else 0, hash(("p", phone)) if phone else 0]
                    if self.dry_run and any(k and k in self.seen for k in keys):
                        kind = "merged"
                    else:
                        kind = "created"
                    self.seen.update(k for k in keys if k)
                    target = Target(
                        values={"language": "fr", "tags": [], "notes": ""}, first_line=rec.line
                    )
                    targets.append(target)
                if email:
                    pending_email.setdefault(email, target)
                if phone:
                    pending_phone.setdefault(phone, target)
            known = list(target.values.get("tags") or [])
            changed = self._fill(target, cleaned)
            # A new tag that reads like health data: kept, with the same warning as the
            # other doors (the customers service decides what looks like health data).
            new_tags = cleaned.get("tags") or []
            for warning in health_tag_warnings(new_tags, known=known) if new_tags else ():
                self._warn(
                    result,
                    rec.line,
                    Issue(
                        rec.columns.get("tags", "tags"), warning.code, warning.message, error=False
                    ),
                )
            self._decide(rec, target, result)
            if rec.external:
                target.externals.append((rec.external[0], rec.external[1], rec.external_data))
            if kind == "update?":
                # Decided after the consents: a row that only changes consents is an update.
                target.row_kinds.append((changed, rec.line))
            else:
                result.counts[kind] += 1
        self._write(targets, result)
        return result

    def _fill(self, target: Target, cleaned: Mapping[str, Any]) -> bool:
        """Fill the target's empty fields from a row; True when something changed."""
        changed = False
        values = target.values
        for name in FILL_FIELDS:
            new = cleaned.get(name)
            if new not in (None, "") and values.get(name) in (None, ""):
                values[name] = new
                target.changes[name] = new
                changed = True
        if cleaned.get("language") and target.id is None:
            values["language"] = cleaned["language"]
        note = str(cleaned.get("notes") or "")
        if note and note not in str(values.get("notes") or ""):
            values["notes"] = (str(values.get("notes") or "") + "\n\n" + note).strip()[:5000]
            target.changes["notes"] = values["notes"]
            changed = True
        tags = list(values.get("tags") or [])
        extra = [t for t in cleaned.get("tags") or [] if t not in tags]
        if extra:
            values["tags"] = (tags + extra)[:30]
            target.changes["tags"] = values["tags"]
            changed = True
        return changed

    # ------------------------------------------------------------------ writing

    def _write(self, targets: list[Target], result: BatchResult) -> None:
        org_id = self.org_id
        # New customers first (one multi-row INSERT), so every target has an id.
        new = [t for t in targets if t.id is None]
        if new and not self.dry_run:
            rows = []
            for t in new:
                v = t.values
                last, first = v.get("last_name", ""), v.get("first_name", "")
                rows.append(
                    {
                        **{
                            k: v.get(k)
                            for k in (*FILL_FIELDS, "notes", "tags", "language")
                            if k in v
                        },
                        "organization_id": org_id,
                        "source": Source.IMPORT,
                        "search_last": fold(last)[:100] if last else "",
                        "search_first": fold(first)[:100] if first else "",
                        "search_phone": _search_phone(v["phone"]) if v.get("phone") else "",
                    }
                )
            stamp = {
                "created_at": self.started_at,
                "updated_at": self.started_at,
                "last_activity_at": self.started_at,
            }
            ids = RowInserter(Customer, stamp).insert(rows, returning=True)
            for t, pk in zip(new, ids, strict=True):
                t.id = pk
                t.created_here = True
        # Existing customers: fill their empty fields.
        fresh = {id(t) for t in new}
        existing = [t for t in targets if t.id is not None and id(t) not in fresh]
        if existing and not self.dry_run:
            for t in existing:
                if t.changes:
                    changes = dict(t.changes)
                    if "first_name" in changes:
                        changes["search_first"] = fold(changes["first_name"])[:100]
                    if "last_name" in changes:
                        changes["search_last"] = fold(changes["last_name"])[:100]
                    if "phone" in changes:
                        changes["search_phone"] = _search_phone(changes["phone"])
                    Customer.objects.filter(pk=t.id).update(**changes, updated_at=self.started_at)
        # Consents against the ledger's current state and the suppression list.
        latest: dict[tuple[int, str], bool] = {}
        existing_ids = [t.id for t in existing if t.id is not None]
        if existing_ids:
            for cid, purpose, granted in (
                ConsentEvent.objects.filter(customer_id__in=existing_ids)
                .order_by("customer_id", "purpose", "-occurred_at", "-id")
                .values_list("customer_id", "purpose", "granted")
            ):
                latest.setdefault((cid, purpose), granted)
        emails = [t.values["email"] for t in targets if t.values.get("email")]
        # One array parameter on PostgreSQL (the ORM builds an IN list of the whole batch);
        # the organization is in the SQL.
        suppressed = set(_values_in(Suppression, "email", "email", emails, self.org_id))
        events: list[dict[str, Any]] = []
        suppressions: list[dict[str, Any]] = []
        fired: list[tuple[Target, str, bool]] = []
        kind, label = self.actor.kind, self.actor.label[:200]
        user_id = self.actor.user.pk if self.actor.user is not None else None
        for t in targets:
            changed_consent = False
            tkey = t.id if t.id is not None else -id(t)  # dry runs: no id yet
            email = t.values.get("email", "")
            withdrawn_here = {p for p, g, _e, _l in t.decisions if not g}
            is_suppressed = email in suppressed or t.suppress is not None
            done: set[tuple[str, bool]] = set()
            for purpose, granted, evidence, line in t.decisions:
                if (purpose, granted) in done:
                    continue
                state = latest.get((tkey, purpose))
                if granted:
                    if purpose in withdrawn_here or state is False:
                        result.issues.append(
                            (
                                line,
                                Issue(
                                    "consent",
                                    Code.CONSENT_WITHDRAWN_WINS,
                                    _(
                                        "%(purpose)s not granted: this person withdrew it, and a withdrawal wins over an import"  # noqa: E501
                                    )
                                    % {"purpose": PURPOSE_LABELS[purpose]},
                                    error=False,
                                ),
                            )
                        )
                        result.counts["warnings"] += 1
                        continue
                    if is_suppressed and PURPOSE_CHANNEL[purpose] == Channel.EMAIL:
                        result.issues.append(
                            (
                                line,
                                Issue(
                                    "email",
                                    Code.SUPPRESSED,
                                    _(
                                        "%(purpose)s not granted: this address is on the suppression list (it bounced)"  # noqa: E501
                                    )
                                    % {"purpose": PURPOSE_LABELS[purpose]},
                                    error=False,
                                ),
                            )
                        )
                        result.counts["warnings"] += 1
                        continue
                    if state is True:
                        continue  # already granted: a re-run records nothing
                else:
                    if state is False:
                        continue
                done.add((purpose, granted))
                language = t.values.get("language") or "fr"
                wording = self.wording(purpose, language if language in ("fr", "en") else "fr")
                occurred = self.started_at
                if granted:
                    when = (
                        evidence.get("double_opt_in_confirmed_at")
                        or evidence.get("confirm_time")
                        or evidence.get("optin_time")
                    )
                    if when:
                        occurred = min(dt.datetime.fromisoformat(when), self.started_at)
                events.append(
                    {
                        "organization_id": org_id,
                        "customer_id": t.id,
                        "purpose": purpose,
                        "channel": PURPOSE_CHANNEL[purpose],
                        "granted": granted,
                        "occurred_at": occurred,
                        "source": Source.IMPORT,
                        "wording_id": wording.pk,
                        "wording_hash": wording.text_hash,
                        "actor_kind": kind,
                        "actor_user_id": user_id,
                        "actor_label": label,
                        "evidence": evidence,
                    }
                )
                latest[(tkey, purpose)] = granted
                changed_consent = True
                fired.append((t, purpose, granted))
                result.counts["consent_entries"] += 1
                if not granted:
                    result.counts["withdrawals"] += 1
            if t.suppress is not None and email and email not in suppressed:
                suppressed.add(email)
                suppressions.append({"email": email, "customer_id": t.id, "evidence": t.suppress})
                result.counts["suppressed"] += 1
                changed_consent = True
            for changed, _line in t.row_kinds:
                result.counts["updated" if (changed or changed_consent) else "skipped"] += 1
                changed_consent = False
        if self.dry_run:
            return
        entry_ids: list[int] = []
        if events:
            entry_ids = RowInserter(ConsentEvent, {"recorded_at": self.started_at}).insert(
                events, returning=True
            )
        for s in suppressions:
            Suppression.objects.create(
                email=s["email"],
                reason=SuppressionReason.CLEANED,
                customer_id=s["customer_id"],
                import_run=self.imp,
                evidence=s["evidence"],
            )
        if suppressions:
            # The send gate's list hears it too: no message reaches a cleaned address.
            consequences.fire_many(
                Consequence.ADDRESS_SUPPRESSED,
                organization_id=self.org_id,
                payloads=[
                    {
                        "channel": "email",
                        "address": s["email"],
                        "reason": "cleaned_import",
                        "detail": f"{self.imp.filename} (import #{self.imp.pk})",
                        "actor": self.actor,
                    }
                    for s in suppressions
                ],
            )
        externals = [
            (t.id, system, ext, data) for t in targets for system, ext, data in t.externals
        ]
        if externals:
            known = set(
                ExternalCustomerId.objects.filter(
                    external_id__in=[e[2] for e in externals]
                ).values_list("system", "external_id")
            )
            for cid, system, ext, data in externals:
                if (system, ext) not in known:
                    known.add((system, ext))
                    ExternalCustomerId.objects.create(
                        customer_id=cid, system=system, external_id=ext, data=data
                    )
        audit.record(
            self.actor,
            "imports.customers_batch",
            object_type="import",
            object_id=self.imp.pk,
            **{k: v for k, v in result.counts.items() if v},
        )
        self._fire(new, fired, events, entry_ids)

    def _fire(
        self,
        new: list[Target],
        fired: list[tuple[Target, str, bool]],
        events: list[dict[str, Any]],
        entry_ids: list[int],
    ) -> None:
        """Consequences of the batch, for the apps that listen (webhooks, messaging...): every
        subscriber hears every customer created and every ledger entry, each list once (a
        subscriber with a batch handler in one call). The customer and entry instances are
        made only when a subscriber reads them (``LazyPayload``): loyalty reads those of its
        own purpose, webhooks those of organizations with endpoints."""
        joined = consequences.subscribers(Consequence.CUSTOMER_JOINED)
        changed = consequences.subscribers(Consequence.CONSENT_CHANGED)
        if not joined and not changed:
            return
        instances: dict[int, Customer] = {}
        keep = {*FILL_FIELDS, "notes", "tags", "language"}

        def instance(t: Target) -> Customer:
            assert t.id is not None
            if t.id not in instances:
                fields = {k: v for k, v in t.values.items() if k in keep}
                instances[t.id] = Customer(
                    id=t.id,
                    organization_id=self.org_id,
                    source=Source.IMPORT,
                    status=CustomerStatus.ACTIVE,
                    **fields,
                )
            return instances[t.id]

        wordings = {w.pk: w for w in self.wordings.values()}

        def entry(t: Target, row: dict[str, Any], pk: int) -> ConsentEvent:
            made = ConsentEvent(id=pk, **row)
            made.wording = wordings[row["wording_id"]]  # loyalty reads the wording
            made.customer = instance(t)
            return made

        plain = {"source": Source.IMPORT, "actor": self.actor}
        if joined and new:
            consequences.fire_many(
                Consequence.CUSTOMER_JOINED,
                organization_id=self.org_id,
                payloads=[
                    LazyPayload(plain, {"customer": functools.partial(instance, t)}) for t in new
                ],
            )
        if changed and events:
            # ``fired``, ``events`` and ``entry_ids`` are in the same order: one entry per
            # decision recorded.
            consequences.fire_many(
                Consequence.CONSENT_CHANGED,
                organization_id=self.org_id,
                payloads=[
                    LazyPayload(
                        {**plain, "purpose": purpose, "granted": granted},
                        {
                            "customer": functools.partial(instance, t),
                            "event": functools.partial(entry, t, row, pk),
                        },
                    )
                    for (t, purpose, granted), row, pk in zip(fired, events, entry_ids, strict=True)
                ],
            )

    def column_notes(self) -> list[Issue]:
        """Column-level notes, once per import: consents not recorded for want of a basis."""
        out = []
        for (column, why), n in sorted(self.not_recorded.items()):
            if why == "none":
                msg = _(
                    "%(n)d consents in %(column)s not recorded: no basis was stated (choose how these people agreed to record them)"  # noqa: E501
                ) % {"n": n, "column": column}
            else:
                msg = _(
                    "%(n)d grants of news by email in %(column)s not recorded: news by email needs the address confirmed (double opt-in)"  # noqa: E501
                ) % {"n": n, "column": column}
            out.append(Issue(column, Code.CONSENT_NOT_RECORDED, msg, error=False))
        return out
