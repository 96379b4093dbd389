"""Property: whatever the interleaving of Mailchimp's subscribed / unsubscribed / cleaned rows
for one person (in one file or several, in any order), a withdrawal or a suppression decides."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.tests.factories import OrganizationFactory
from cueillette.customers.models import Customer
from cueillette.customers.services import has_consent
from cueillette.imports import services
from cueillette.imports.models import Suppression
from cueillette.imports.tests.fixtures.make_fixtures import MC_CLEAN, MC_UNSUB, mc

counter = itertools.count()
row = st.tuples(
    st.sampled_from(["subscribed", "unsubscribed", "cleaned"]),
    st.sampled_from(
        ["Dana.Moreau@Example.org", "dana.moreau@example.org", "DANA.MOREAU@EXAMPLE.ORG"]
    ),
    st.integers(min_value=1, max_value=28),  # day of the Mailchimp timestamp
)
# Rows grouped into files: each file holds rows of one status, as Mailchimp exports them.
files = st.lists(st.lists(row, min_size=1, max_size=3), min_size=1, max_size=5)


def write(path: Path, status: str, rows: list[tuple[str, str, int]]) -> None:
    header = (
        MC_CLEAN if status == "cleaned" else MC_UNSUB if status == "unsubscribed" else MC_UNSUB[:23]
    )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header, extrasaction="ignore")
        writer.writeheader()
        for _status, email, day in rows:
            extra = {"CONFIRM_TIME": f"2024-02-{day:02d} 10:00:00"}
            if status == "unsubscribed":
                extra["UNSUB_TIME"] = f"2024-03-{day:02d} 10:00:00"
            if status == "cleaned":
                extra["CLEAN_TIME"] = f"2024-03-{day:02d} 10:00:00"
            writer.writerow({h: "" for h in header} | mc(email, "Dana", "Moreau", **extra))


@settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files)
def test_latest_withdrawal_or_suppression_decides(
    db: None, tmp_path_factory: Any, groups: list[list[tuple[str, str, int]]]
) -> None:
    org = OrganizationFactory(slug=f"prop-{next(counter)}")
    folder = tmp_path_factory.mktemp("mc")
    statuses: list[str] = []
    with tenancy.tenant_context(org):
        actor = Actor.system("property")
        for n, group in enumerate(groups):
            status = group[0][0]
            rows = [(status, e, d) for _s, e, d in group]
            statuses.extend(status for _ in rows)
            path = folder / f"{status}_members_export_{n}.csv"
            write(path, status, rows)
            imp = services.register_file(
                path, filename=path.name, kind="customers", actor=actor, copy=False
            )
            columns = services.consent_columns(imp)
            services.configure(
                imp, actor=actor, consent_basis={c: "double-opt-in" for c, _p in columns}
            )
            services.process(imp.pk, dry_run=False)
        dana = Customer.objects.get()  # case-only differences: one person
        withdrawn = any(s in ("unsubscribed", "cleaned") for s in statuses)
        assert has_consent(dana, "news_email") is (not withdrawn)
        assert Suppression.objects.filter(email="dana.moreau@example.org").exists() is (
            "cleaned" in statuses
        )
