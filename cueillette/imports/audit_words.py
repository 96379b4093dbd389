"""The activity log's words for imports and exports (registered from the app's ready())."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cueillette.core import audit_words
from cueillette.core.audit_words import generic, words

COUNTS = {
    "updated": gettext_lazy("completed"),
    "merged": gettext_lazy("merged"),
    "skipped": gettext_lazy("skipped"),
    "bad": gettext_lazy("rows refused"),
    "consent_entries": gettext_lazy("consent entries"),
    "withdrawals": gettext_lazy("withdrawals"),
    "suppressed": gettext_lazy("addresses never to email"),
    "warnings": gettext_lazy("warnings"),
    "consents_not_recorded": gettext_lazy("consents not recorded"),
    "purchases": gettext_lazy("sales"),
    "refunds": gettext_lazy("refunds"),
    "matched": gettext_lazy("matched to a customer"),
    "unmatched": gettext_lazy("anonymous sales"),
    "points_awarded": gettext_lazy("points awarded"),
}


def _layout(value: Any) -> str:
    from cueillette.imports.models import Layout

    try:
        return str(Layout(str(value)).label)
    except ValueError:
        return str(value)


def _contents(value: Any) -> str:
    from cueillette.imports.models import Kind

    try:
        return str(Kind(str(value)).label)
    except ValueError:
        return str(value)


def _bases(value: Any) -> str:
    from cueillette.imports.models import ConsentBasis

    if not value:
        return "—"
    out = []
    for column, basis in dict(value).items():
        try:
            label = str(ConsentBasis(basis).label)
        except ValueError:
            label = str(basis)
        out.append(f"{column} → {label}")
    return "; ".join(out)


def _size(value: Any) -> str:
    return _("%(n).1f MB") % {"n": int(value or 0) / 1e6}


def _counts(d: Mapping[str, Any]) -> list[str]:
    return generic({k: v for k, v in d.items() if v})


def register() -> None:
    labels = audit_words.KEY_LABELS
    for key, label in COUNTS.items():
        labels.setdefault(key, (label, str))
    labels.setdefault("contents", (gettext_lazy("contents"), _contents))
    labels.setdefault("layout", (gettext_lazy("layout"), _layout))
    labels.setdefault("size", (gettext_lazy("size"), _size))
    labels.setdefault("consent_basis", (gettext_lazy("how people agreed"), _bases))
    words("imports.file_registered", gettext_lazy("File to import received"), generic)
    words("imports.configured", gettext_lazy("Import choices stated"), generic)
    words("imports.checked", gettext_lazy("File check started"), generic)
    words("imports.started", gettext_lazy("Import started"), generic)
    words("imports.check_finished", gettext_lazy("File checked"), _counts)
    words("imports.finished", gettext_lazy("Import finished"), _counts)
    words("imports.customers_batch", gettext_lazy("Customers imported (one batch)"), _counts)
    words("imports.sales_batch", gettext_lazy("Past sales imported (one batch)"), _counts)
    for kind, label in (
        ("consents", gettext_lazy("Consent ledger exported")),
        ("points", gettext_lazy("Points ledger exported")),
        ("purchases", gettext_lazy("Purchases exported")),
        ("posts", gettext_lazy("Community posts exported")),
    ):
        words(f"{kind}.exported", label, generic)
