"""The sales-history import engine: one batch of rows -> imported sales (and, when the owner
chooses, loyalty purchases with their points).

* A row is matched to a customer by the other tool's customer id, a loyalty card number, the
  normalised email or phone — never by a name alone; an unmatched row is kept as an anonymous
  sale (it counts in revenue trends, in no one's history) and counted as ``unmatched``.
* Refunds are recognised (negative amounts, ``Event Type = Refund``) and stored as refunds.
* The same tool row (transaction/payment id, or the row's hash) is stored once per
  organization: a re-run adds nothing (``skipped``).
* ``award_points``: a matched sale with an open card goes through loyalty's
  ``record_purchase`` with ``import-<row key>`` as its receipt id (idempotent), a refund of an
  awarded sale through ``refund_purchase``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, router
from django.utils.translation import gettext as _

from cueillette.core import audit
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.customers.bulk import RowInserter
from cueillette.customers.models import Customer
from cueillette.customers.normalize import normalize_email, normalize_phone
from cueillette.imports.errors import Code
from cueillette.imports.layouts import Issue, SaleRecord, SalesLayout
from cueillette.imports.models import ExternalCustomerId, Import, ImportedSale, SaleKind

COUNT_KEYS = (
    "rows",
    "purchases",
    "refunds",
    "matched",
    "unmatched",
    "skipped",
    "bad",
    "warnings",
    "points_awarded",
)


@dataclass
class BatchResult:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    issues: list[tuple[int, Issue]] = field(default_factory=list)


def _values_in(
    model: Any, column: str, other: str, values: list[str], org_id: int, *, active: bool = False
) -> list[Any]:
    """``(column, other)`` rows (or ``column`` alone when both are the same) of this
    organization whose ``column`` is in ``values``. Plain SQL with one array parameter on
    PostgreSQL: the ORM and the driver take longer to build a 5,000-item IN list than the
    database takes to answer it from the (organization, column) index."""
    if not values:
        return []
    connection = connections[router.db_for_read(model)]
    qn = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    select = qn(column) if column == other else f"{qn(column)}, {qn(other)}"
    where = " AND status = 'active'" if active else ""
    out: list[Any] = []
    with connection.cursor() as cursor:
        step = len(values) if postgres else 500
        for i in range(0, len(values), step):
            part = values[i : i + step]
            match = "= ANY(%s)" if postgres else "IN ({})".format(", ".join(["%s"] * len(part)))
            # Identifiers come from the model's metadata; values are bound parameters.
            sql = f"SELECT {select} FROM {qn(model._meta.db_table)} WHERE organization_id = %s{where} AND {qn(column)} {match}"  # noqa: S608, E501
            cursor.execute(sql, [org_id, part] if postgres else [org_id, *part])
            rows = cursor.fetchall()
            out.extend(r[0] for r in rows) if column == other else out.extend(rows)
    return out


class SaleImporter:
    def __init__(self, imp: Import, layout: SalesLayout, actor: Actor, *, dry_run: bool) -> None:
        self.imp = imp
        self.layout = layout
        self.actor = actor
        self.dry_run = dry_run
        self.award = bool(imp.options.get("award_points"))
        self.seen: set[str] = set()  # dry run only: row keys met earlier in the file

    def _customers(self, recs: list[SaleRecord]) -> dict[int, tuple[int, str]]:
        """line -> (customer id, matched by) for the rows that can be matched."""
        out: dict[int, tuple[int, str]] = {}
        externals = {r.external for r in recs if r.external}
        if externals:
            by_ext = {
                (s, e): c
                for s, e, c in ExternalCustomerId.objects.filter(
                    external_id__in=[e for _s, e in externals]
                ).values_list("system", "external_id", "customer_id")
            }
            for r in recs:
                if r.external and r.external in by_ext:
                    out[r.line] = (by_ext[r.external], "external_id")
        cards = {r.card_number for r in recs if r.card_number and r.line not in out}
        if cards:
            from cueillette.loyalty.models import Card

            by_card = dict(
                Card.objects.filter(number__in=cards).values_list("number", "customer_id")
            )
            for r in recs:
                if r.line not in out and r.card_number in by_card:
                    out[r.line] = (by_card[r.card_number], "card")
        emails = sorted({r.email for r in recs if r.email and r.line not in out})
        phones = sorted({r.phone for r in recs if r.phone and r.line not in out})
        if emails or phones:
            org_id = self.imp.organization_id
            by_email: dict[str, int] = {}
            by_phone: dict[str, int] = {}
            for email, pk in _values_in(Customer, "email", "id", emails, org_id, active=True):
                by_email.setdefault(email, pk)
            for phone, pk in _values_in(Customer, "phone", "id", phones, org_id, active=True):
                by_phone.setdefault(phone, pk)
            for r in recs:
                if r.line in out:
                    continue
                if r.email and r.email in by_email:
                    out[r.line] = (by_email[r.email], "email")
                elif r.phone and r.phone in by_phone:
                    out[r.line] = (by_phone[r.phone], "phone")
        return out

    def run(self, records: Iterable[SaleRecord]) -> BatchResult:
        result = BatchResult()
        good: list[SaleRecord] = []
        for rec in records:
            result.counts["rows"] += 1
            if not rec.bad:
                if rec.email:
                    try:
                        rec.email = normalize_email(rec.email)
                    except ServiceError as exc:
                        rec.issues.append(
                            Issue(
                                "email",
                                exc.code,
                                exc.message + " " + _("(not used to match)"),
                                error=False,
                            )
                        )
                        rec.email = ""
                if rec.phone:
                    try:
                        rec.phone = normalize_phone(rec.phone)
                    except ServiceError as exc:
                        rec.issues.append(
                            Issue(
                                "phone",
                                exc.code,
                                exc.message + " " + _("(not used to match)"),
                                error=False,
                            )
                        )
                        rec.phone = ""
            for issue in rec.issues:
                result.issues.append((rec.line, issue))
                if not issue.error:
                    result.counts["warnings"] += 1
            if rec.bad:
                result.counts["bad"] += 1
            else:
                good.append(rec)
        keys = [r.row_key for r in good]
        known = set(_values_in(ImportedSale, "row_key", "row_key", keys, self.imp.organization_id))
        fresh: list[SaleRecord] = []
        for r in good:
            if r.row_key in known or r.row_key in self.seen:
                result.counts["skipped"] += 1
                continue
            known.add(r.row_key)
            if self.dry_run:
                self.seen.add(r.row_key)
            fresh.append(r)
        matches = self._customers(fresh)
        rows = []
        for r in fresh:
            match = matches.get(r.line)
            result.counts["refunds" if r.kind == SaleKind.REFUND else "purchases"] += 1
            if match:
                result.counts["matched"] += 1
            else:
                result.counts["unmatched"] += 1
                if r.customer_name and not (r.email or r.phone or r.card_number or r.external):
                    result.issues.append(
                        (
                            r.line,
                            Issue(
                                "customer",
                                Code.NAME_ONLY,
                                _(
                                    "only a name (%(name)s): a sale is never matched by name, kept as an anonymous sale"  # noqa: E501
                                )
                                % {"name": r.customer_name[:60]},
                                error=False,
                            ),
                        )
                    )
                    result.counts["warnings"] += 1
            rows.append(
                {
                    "organization_id": self.imp.organization_id,
                    "import_run_id": self.imp.pk,
                    "row_key": r.row_key,
                    "kind": r.kind,
                    "amount": r.amount,
                    "currency": r.currency,
                    "occurred_at": r.occurred_at,
                    "customer_id": match[0] if match else None,
                    "matched_by": match[1] if match else "",
                    "transaction_id": r.transaction_id,
                    "location": r.location,
                    "description": r.description,
                    "purchase_id": None,
                }
            )
        if self.dry_run or not rows:
            return result
        RowInserter(ImportedSale, {}).insert(rows)
        if self.award:
            self._award(fresh, matches, result)
        audit.record(
            self.actor,
            "imports.sales_batch",
            object_type="import",
            object_id=self.imp.pk,
            **{k: v for k, v in result.counts.items() if v},
        )
        return result

    def _award(
        self, recs: list[SaleRecord], matches: dict[int, tuple[int, str]], result: BatchResult
    ) -> None:
        from cueillette.loyalty import services as loyalty
        from cueillette.loyalty.models import Card, CardStatus, Purchase

        ids = {m[0] for m in matches.values()}
        cards = {
            c.customer_id: c
            for c in Card.objects.filter(customer_id__in=ids, status=CardStatus.OPEN)
        }
        for r in recs:
            match = matches.get(r.line)
            card = cards.get(match[0]) if match else None
            if card is None:
                continue
            receipt = f"import-{r.row_key}"[:100]
            try:
                if r.kind == SaleKind.SALE:
                    purchase: Any = loyalty.record_purchase(
                        card,
                        amount=r.amount,
                        actor=self.actor,
                        source="system",
                        receipt_id=receipt,
                        currency=r.currency,
                        occurred_at=r.occurred_at,
                    )
                    result.counts["points_awarded"] += purchase.points
                else:
                    original = (
                        ImportedSale.objects.filter(
                            transaction_id=r.transaction_id,
                            kind=SaleKind.SALE,
                            purchase__isnull=False,
                        ).first()
                        if r.transaction_id
                        else None
                    )
                    if original is None or original.purchase_id is None:
                        continue
                    sale = Purchase.objects.get(pk=original.purchase_id)
                    amount = min(r.amount, sale.amount - sale.refunded_amount)
                    if amount <= 0:
                        continue
                    loyalty.refund_purchase(
                        sale,
                        amount=amount,
                        actor=self.actor,
                        source="system",
                        refund_id=receipt,
                        reason="import",
                    )
                    purchase = sale
            except ServiceError as exc:
                result.issues.append(
                    (
                        r.line,
                        Issue(
                            "points",
                            exc.code,
                            _("no points: %(why)s") % {"why": exc.message},
                            error=False,
                        ),
                    )
                )
                result.counts["warnings"] += 1
                continue
            ImportedSale.objects.filter(row_key=r.row_key).update(purchase=purchase)
