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
from collections.abc import Iterator, Sequence
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
