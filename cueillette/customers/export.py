"""CSV export of the customer base.

Format (chosen for the people who open it: French shop owners with Excel or LibreOffice):

* UTF-8 with a byte-order mark, so Excel recognises the accents;
* ``;`` as delimiter, what French spreadsheets expect (``,`` is their decimal separator);
* one row per active customer, dates in ISO 8601, phone numbers in E.164, interests joined
  with ", ", then one column per purpose with the current consent state
  (yes / no / empty for never asked);
* every cell goes through :func:`safe_cell`, so nothing a customer typed becomes a formula.

Rows are read in primary-key batches inside the organization's context, so a streaming
response never holds the whole base in memory nor runs a query outside its tenant.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.customers import queries
from cueillette.customers.models import Customer, Purpose

# A cell starting with one of these is read as a formula by spreadsheets (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
DELIMITER = ";"
BATCH_SIZE = 1000
PROFILE_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "postal_code",
    "language",
    "birthday",
    "tags",
    "heard_from",
    "heard_from_detail",
    "notes",
    "created_at",
    "last_activity_at",
)


def safe_cell(value: Any) -> str:
    """The text of one cell, prefixed with ``'`` when a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write returns the line: csv.writer without a buffer."""

    def write(self, value: str) -> str:
        return value


def customer_row(customer: Customer, consent_words: dict[bool | None, str]) -> list[str]:
    cells = [safe_cell(getattr(customer, name)) for name in PROFILE_COLUMNS]
    for purpose in Purpose.values:
        cells.append(safe_cell(consent_words[getattr(customer, f"consent_{purpose}", None)]))
    return cells


def export_snapshot() -> tuple[int, int]:
    """(highest id, row count) of the active base now: the export reads up to that id."""
    qs = queries.active_customers()
    last = qs.order_by("-pk").values_list("pk", flat=True).first() or 0
    return last, qs.filter(pk__lte=last).count()


def iter_csv(
    org: Organization,
    header: Sequence[str],
    consent_words: dict[bool | None, str],
    *,
    up_to_id: int,
    batch_size: int = BATCH_SIZE,
) -> Iterator[str]:
    """Yield the CSV text line by line: BOM and header first, then the customers by id."""
    writer = csv.writer(_Echo(), delimiter=DELIMITER)
    yield "\ufeff" + str(writer.writerow([safe_cell(h) for h in header]))
    after = 0
    while True:
        # Each batch runs inside the organization: the response streams after the view (and
        # the tenant middleware) has returned.
        with tenancy.tenant_context(org):
            batch = list(
                queries.with_consents(
                    queries.active_customers().filter(pk__gt=after, pk__lte=up_to_id)
                ).order_by("pk")[:batch_size]
            )
        if not batch:
            return
        for customer in batch:
            yield str(writer.writerow(customer_row(customer, consent_words)))
        after = batch[-1].pk


# --------------------------------------------------------------------------- data exports
#
# ``manage.py export <org> customers|consents|points|purchases|posts [--format csv|json]``: the
# organization's data, streamed in primary-key batches. CSV cells go through safe_cell (a
# spreadsheet never runs them); JSON keeps values as they are (``+33 6 …`` stays a phone
# number) since nothing evaluates a JSON string.

EXPORT_KINDS = ("customers", "consents", "points", "purchases", "posts")


def _batched(qs: Any, org: Organization, batch_size: int = BATCH_SIZE) -> Iterator[Any]:
    after = 0
    while True:
        with tenancy.tenant_context(org):
            batch = list(qs.filter(pk__gt=after).order_by("pk")[:batch_size])
        if not batch:
            return
        yield from batch
        after = batch[-1].pk


def _customers(org: Organization) -> tuple[list[str], Iterator[dict[str, Any]]]:
    header = [*PROFILE_COLUMNS, *(f"consent_{p}" for p in Purpose.values)]

    def rows() -> Iterator[dict[str, Any]]:
        with tenancy.tenant_context(org):
            qs = queries.with_consents(queries.active_customers())
        for c in _batched(qs, org):
            row = {name: getattr(c, name) for name in PROFILE_COLUMNS}
            row.update({f"consent_{p}": getattr(c, f"consent_{p}", None) for p in Purpose.values})
            yield row

    return header, rows()


def _consents(org: Organization) -> tuple[list[str], Iterator[dict[str, Any]]]:
    from cueillette.customers.models import ConsentEvent

    header = [
        "id",
        "customer_id",
        "purpose",
        "channel",
        "granted",
        "occurred_at",
        "recorded_at",
        "source",
        "wording_id",
        "wording_hash",
        "actor_kind",
        "actor_label",
        "evidence",
    ]

    def rows() -> Iterator[dict[str, Any]]:
        with tenancy.tenant_context(org):
            qs = ConsentEvent.objects.all()
        for e in _batched(qs, org):
            yield {h: getattr(e, h) for h in header}

    return header, rows()


def _points(org: Organization) -> tuple[list[str], Iterator[dict[str, Any]]]:
    from cueillette.loyalty.models import PointsEntry

    header = [
        "id",
        "card_number",
        "customer_id",
        "kind",
        "points",
        "occurred_at",
        "recorded_at",
        "expires_at",
        "purchase_id",
        "refund_id",
        "redemption_id",
        "corrects_id",
        "reason",
        "cause",
    ]

    def rows() -> Iterator[dict[str, Any]]:
        with tenancy.tenant_context(org):
            qs = PointsEntry.objects.select_related("card")
        for e in _batched(qs, org):
            row = {h: getattr(e, h, None) for h in header}
            row["card_number"] = e.card.number
            row["customer_id"] = e.card.customer_id
            yield row

    return header, rows()


def _purchases(org: Organization) -> tuple[list[str], Iterator[dict[str, Any]]]:
    from cueillette.imports.models import ImportedSale
    from cueillette.loyalty.models import Purchase

    header = [
        "origin",
        "id",
        "receipt_id",
        "kind",
        "customer_id",
        "card_number",
        "amount",
        "currency",
        "occurred_at",
        "points",
        "refunded_amount",
        "source",
    ]

    def rows() -> Iterator[dict[str, Any]]:
        with tenancy.tenant_context(org):
            purchases = Purchase.objects.select_related("card")
            imported = ImportedSale.objects.all()
        for p in _batched(purchases, org):
            yield {
                "origin": "loyalty", "id": p.pk, "receipt_id": p.receipt_id, "kind": "sale", "customer_id": p.card.customer_id,  # noqa: E501
                "card_number": p.card.number, "amount": p.amount, "currency": p.currency, "occurred_at": p.occurred_at,  # noqa: E501
                "points": p.points, "refunded_amount": p.refunded_amount, "source": p.source,
            }  # fmt: skip
        for s in _batched(imported, org):
            yield {
                "origin": "import", "id": s.pk, "receipt_id": s.transaction_id or s.row_key, "kind": s.kind,  # noqa: E501
                "customer_id": s.customer_id, "card_number": "", "amount": s.amount, "currency": s.currency,  # noqa: E501
                "occurred_at": s.occurred_at, "points": None, "refunded_amount": None, "source": s.matched_by,  # noqa: E501
            }  # fmt: skip

    return header, rows()


def _posts(org: Organization) -> tuple[list[str], Iterator[dict[str, Any]]]:
    from cueillette.community.models import Post

    header = [
        "id",
        "kind",
        "rating",
        "display_name",
        "text",
        "language",
        "status",
        "acknowledged",
        "hidden",
        "created_at",
        "edited_at",
        "themes",
        "author_id",
        "linked_customer_id",
    ]

    def rows() -> Iterator[dict[str, Any]]:
        with tenancy.tenant_context(org):
            qs = Post.objects.all()
        for p in _batched(qs, org):
            yield {h: getattr(p, h, None) for h in header}

    return header, rows()


def export_data(org: Organization, kind: str) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """(header, rows as dicts) of one kind of data of ``org``."""
    makers = {
        "customers": _customers,
        "consents": _consents,
        "points": _points,
        "purchases": _purchases,
        "posts": _posts,
    }
    if kind not in makers:
        raise ValueError(f"unknown export: {kind} (expected one of {', '.join(EXPORT_KINDS)})")
    return makers[kind](org)


def count_data(org: Organization, kind: str) -> int:
    """How many rows :func:`export_data` will give (said before the download, and audited)."""
    from cueillette.community.models import Post
    from cueillette.customers.models import ConsentEvent
    from cueillette.imports.models import ImportedSale
    from cueillette.loyalty.models import PointsEntry, Purchase

    with tenancy.tenant_context(org):
        counts = {
            "customers": lambda: queries.active_customers().count(),
            "consents": lambda: ConsentEvent.objects.count(),
            "points": lambda: PointsEntry.objects.count(),
            "purchases": lambda: Purchase.objects.count() + ImportedSale.objects.count(),
            "posts": lambda: Post.objects.count(),
        }
        if kind not in counts:
            raise ValueError(f"unknown export: {kind}")
        return int(counts[kind]())


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def iter_data_csv(header: Sequence[str], rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """CSV text for a French spreadsheet (BOM, ``;``); every cell neutralised."""
    writer = csv.writer(_Echo(), delimiter=DELIMITER)
    yield "\ufeff" + str(writer.writerow([safe_cell(h) for h in header]))
    for row in rows:
        cells = []
        for h in header:
            value = row.get(h)
            if isinstance(value, dict):
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            cells.append(safe_cell(value))
        yield str(writer.writerow(cells))


def iter_data_json(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """A JSON array, one object per line, values untouched (no formula neutralising)."""
    yield "["
    first = True
    for row in rows:
        yield ("\n" if first else ",\n") + json.dumps(
            {k: _json_value(v) for k, v in row.items()}, ensure_ascii=False
        )
        first = False
    yield "\n]\n"
