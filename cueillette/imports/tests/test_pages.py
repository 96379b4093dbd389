"""The import pages through the Django client: upload, choices, check, import, report."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cueillette.core import tenancy
from cueillette.customers.models import ConsentEvent, Customer
from cueillette.imports.models import ColumnMapping, Import

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    # The messages these tests read are the English ones (French is the default language).
    settings.LANGUAGE_CODE = "en"


def upload(client: Any, name: str, kind: str = "customers") -> Any:
    data = (FIXTURES / name).read_bytes()
    return client.post(
        reverse("imports:index"), {"kind": kind, "file": SimpleUploadedFile(name, data, "text/csv")}
    )


def test_french_excel_shopify_file_end_to_end(
    owner: Any, org: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    c = client_for(owner)
    assert c.get(reverse("customers:import")).url == reverse("imports:index")
    page = c.get(reverse("imports:index"))
    assert "No import yet" in page.content.decode() or "Aucun import" in page.content.decode()
    r = upload(c, "customers_export_excel_fr.csv")
    assert r.status_code == 302
    imp = Import.objects.unscoped().get(organization=org)
    detail = c.get(r.url).content.decode()
    assert "cp1252" in detail and "Hélène" in detail  # the preview reads the accents
    assert "Accepts Email Marketing" in detail
    # Nothing is chosen for the consent: the form asks.
    refused = c.post(reverse("imports:check", args=[imp.pk]), {})
    assert refused.status_code == 400
    assert 'aria-invalid="true"' in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post(
            reverse("imports:check", args=[imp.pk]),
            {"basis_0": "double-opt-in", "basis_1": "single-opt-in"},
        )
    assert r.status_code == 302
    imp.refresh_from_db()
    assert imp.status == "checked" and imp.check_counts["created"] == 3
    report = c.get(r.url).content.decode()
    assert "email is not valid: the domain example has no dot" in report
    with tenancy.tenant_context(org):
        assert not Customer.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("imports:start", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == "done" and imp.counts["created"] == 3
    with tenancy.tenant_context(org):
        assert Customer.objects.filter(first_name="Hélène").exists()
        assert ConsentEvent.objects.filter(purpose="news_sms").count() == 1
    done = c.get(reverse("imports:detail", args=[imp.pk])).content.decode()
    assert "What the import did" in done or "Ce que l" in done
    rows = c.get(reverse("imports:issues_csv", args=[imp.pk]))
    assert b"domain example has no dot" in b"".join(rows.streaming_content)
    assert c.get(reverse("imports:progress", args=[imp.pk])).json()["status"] == "done"
    # Importing twice is refused from the page: this file is done.
    c.post(reverse("imports:start", args=[imp.pk]))
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 3


def test_spreadsheet_mapping_is_guessed_and_remembered(
    owner: Any, org: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    c = client_for(owner)
    r = upload(c, "clients_tableur.csv")
    imp = Import.objects.unscoped().get(organization=org)
    page = c.get(r.url).content.decode()
    assert '<option value="first_name" selected>' in page  # "Prénom" guessed
    header = [
        "Prénom",
        "Nom",
        "Courriel",
        "Portable",
        "Code postal",
        "Date de naissance",
        "consent_loyalty",
        "Remarques",
    ]
    mapping = {
        f"map_{i}": f
        for i, f in enumerate(
            [
                "first_name",
                "last_name",
                "email",
                "phone",
                "postal_code",
                "birthday",
                "consent_loyalty",
                "",
            ]
        )
    }
    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("imports:check", args=[imp.pk]), {**mapping, "basis_0": "paper"})
    imp.refresh_from_db()
    assert imp.status == "checked"
    with tenancy.tenant_context(org):
        remembered = ColumnMapping.objects.get()
        assert remembered.headers == header and remembered.mapping["Remarques"] == ""
    r2 = upload(c, "clients_tableur.csv")
    page2 = c.get(r2.url).content.decode()
    assert "were remembered" in page2 or "mémorisés" in page2


def test_sales_page_and_counter_cannot_import(
    owner: Any, counter: Any, org: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert client_for(counter).get(reverse("imports:index")).status_code == 403
    c = client_for(owner)
    wrong = upload(c, "items-2024-03-01-2024-04-01.csv", kind="customers")
    assert (
        wrong.status_code == 400 and "sales" in wrong.content.decode().lower()
    ) or "ventes" in wrong.content.decode().lower()
    r = upload(c, "items-2024-03-01-2024-04-01.csv", kind="sales")
    imp = Import.objects.unscoped().get(organization=org, kind="sales")
    assert (
        "Give points for these past sales" in c.get(r.url).content.decode()
        or "points" in c.get(r.url).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("imports:check", args=[imp.pk]), {})
    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("imports:start", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.counts["purchases"] == 4 and imp.counts["unmatched"] == 6


def test_start_requires_a_check_first(owner: Any, org: Any, client_for: Any) -> None:
    c = client_for(owner)
    upload(c, "customers_export_old.csv")
    imp = Import.objects.unscoped().get(organization=org)
    c.post(reverse("imports:start", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == "draft"


def test_a_file_gone_from_the_server_is_said_not_a_crash(
    owner: Any, org: Any, client_for: Any
) -> None:
    c = client_for(owner)
    r = upload(c, "customers_export_excel_fr.csv")
    imp = Import.objects.unscoped().get(organization=org)
    Path(imp.file_path).unlink()
    page = c.get(r.url)
    assert page.status_code == 200
    assert "is no longer on the server: upload it again" in page.content.decode()
    checked = c.post(reverse("imports:check", args=[imp.pk]), {"basis_0": "double-opt-in"})
    assert checked.status_code == 409
    assert "customers_export_excel_fr.csv is no longer on the server" in checked.content.decode()
    # An import that has run keeps its choices: checking it again is refused, not re-read.
    Import.objects.unscoped().filter(pk=imp.pk).update(status="done")
    again = c.post(reverse("imports:check", args=[imp.pk]), {})
    assert again.status_code == 302
    imp.refresh_from_db()
    assert imp.status == "done"


def test_health_like_tags_are_warned_per_row_with_line_and_column(
    owner: Any, org: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    c = client_for(owner)
    data = (
        "Prénom,Nom,Courriel,Intérêts\n"
        'Inès,Garnier,ines@example.org,"vrac, migraines"\n'
        "Paul,Roux,paul@example.org,fromages\n"
        "Zoé,Faure,zoe@example.org,non-fumeuse\n"
    ).encode()
    r = c.post(
        reverse("imports:index"),
        {"kind": "customers", "file": SimpleUploadedFile("tags.csv", data, "text/csv")},
    )
    assert r.status_code == 302
    imp = Import.objects.unscoped().get(organization=org)
    mapping = {"map_0": "first_name", "map_1": "last_name", "map_2": "email", "map_3": "tags"}
    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("imports:check", args=[imp.pk]), mapping)
    imp.refresh_from_db()
    assert imp.status == "checked", imp.check_counts
    assert imp.check_counts["warnings"] == 2
    report = c.get(reverse("imports:detail", args=[imp.pk])).content.decode()
    assert "“migraines” looks like health information" in report
    assert "“non-fumeuse” looks like health information" in report
    # The check's report: one row per warning, with its line and column.
    assert re.search(r"<td>2</td><td><code>Intérêts</code></td>.*?“migraines”", report)
    assert re.search(r"<td>4</td><td><code>Intérêts</code></td>.*?“non-fumeuse”", report)
    # Kept all the same, and warned again by the real run.
    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("imports:start", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == "done" and imp.counts["warnings"] == 2
    with tenancy.tenant_context(org):
        assert Customer.objects.get(first_name="Inès").tags == ["vrac", "migraines"]
    rows = b"".join(c.get(reverse("imports:issues_csv", args=[imp.pk])).streaming_content)
    lines = [line for line in rows.decode().splitlines() if "health" in line]
    assert len(lines) == 2
    assert lines[0].startswith("2;Intérêts;") and lines[1].startswith("4;Intérêts;")
