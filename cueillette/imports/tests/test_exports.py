"""``manage.py export``: every kind, CSV neutralises formulas, JSON keeps values intact."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO
from typing import Any

from django.core.management import call_command

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.services import record_consent
from cueillette.loyalty import services as loyalty


def export(org: Any, kind: str, fmt: str = "csv") -> str:
    out = StringIO()
    call_command("export", org.slug, kind, "--format", fmt, stdout=out)
    return out.getvalue()


def test_every_kind_in_both_formats(org: Any, other_org: Any) -> None:
    mallory = CustomerFactory(
        organization=org,
        first_name='=HYPERLINK("http://evil")',
        last_name="@SUM(A1)",
        email="m@example.org",
        phone="+33612345678",
        notes="-2+3",
    )
    CustomerFactory(organization=other_org, first_name="Autre", email="autre@example.org")
    with tenancy.tenant_context(org):
        record_consent(mallory, "loyalty", True, source="counter", actor=Actor.system())
        card = loyalty.open_card_for(mallory)  # the loyalty consent issued it
        assert card is not None
        loyalty.record_purchase(card, amount="12.50", actor=Actor.system(), receipt_id="R-1")
    text = export(org, "customers")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[1][1] == '\'=HYPERLINK("http://evil")' and rows[1][2] == "'@SUM(A1)"
    assert rows[1][4] == "'+33612345678"  # a spreadsheet would read +33… as a formula
    assert "autre@example.org" not in text
    data = json.loads(export(org, "customers", "json"))
    assert data[0]["phone"] == "+33612345678" and data[0]["first_name"].startswith("=HYPERLINK")
    consents = json.loads(export(org, "consents", "json"))
    assert [c["purpose"] for c in consents] == ["loyalty"]
    points = json.loads(export(org, "points", "json"))
    assert points and points[0]["card_number"] == card.number
    purchases = json.loads(export(org, "purchases", "json"))
    assert purchases[0]["amount"] == "12.50" and purchases[0]["receipt_id"] == "R-1"
    assert "kind" in export(org, "posts")
    assert (
        AuditEvent.objects.unscoped().filter(organization=org, action="consents.exported").exists()
    )


def test_the_page_exports_every_kind_after_a_confirmation(
    org: Any, other_org: Any, owner: Any, client_for: Any, settings: Any
) -> None:
    from django.urls import reverse

    settings.LANGUAGE_CODE = "en"
    mallory = CustomerFactory(
        organization=org, first_name="=cmd|' /C calc'!A0", email="m@example.org",
        phone="+33612345678",
    )  # fmt: skip
    CustomerFactory(organization=other_org, first_name="Autre", email="autre@example.org")
    with tenancy.tenant_context(org):
        record_consent(mallory, "loyalty", True, source="counter", actor=Actor.system())
        card = loyalty.open_card_for(mallory)
        assert card is not None
        loyalty.record_purchase(card, amount="12.50", actor=Actor.system(), receipt_id="T-9")
    c = client_for(owner)
    url = reverse("customers:export_data")
    page = c.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Consent ledger" in text and "Points ledger" in text and "Community posts" in text
    # A GET (a crawler, a prefetch) exports and audits nothing.
    with tenancy.tenant_context(org):
        assert not AuditEvent.objects.filter(action__endswith=".exported").exists()
    refused = c.post(url, {"kind": "everything", "format": "xls"})
    assert refused.status_code == 400
    assert "choose what to export" in refused.content.decode()
    assert "choose CSV or JSON" in refused.content.decode()

    answer = c.post(url, {"kind": "consents", "format": "csv"})
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    assert answer["Content-Disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode()), delimiter=";"))
    assert rows[0][0].lstrip("\ufeff") == "id" and len(rows) == 2  # one entry, this business's
    answer = c.post(url, {"kind": "customers", "format": "json"})
    data = json.loads(b"".join(answer.streaming_content))
    assert [d["email"] for d in data] == ["m@example.org"]
    assert data[0]["phone"] == "+33612345678" and data[0]["first_name"].startswith("=cmd")
    answer = c.post(url, {"kind": "customers", "format": "csv"})
    body = b"".join(answer.streaming_content).decode()
    assert "'=cmd" in body and "Autre" not in body
    answer = c.post(url, {"kind": "purchases", "format": "json"})
    sales = json.loads(b"".join(answer.streaming_content))
    assert [s["receipt_id"] for s in sales] == ["T-9"] and sales[0]["amount"] == "12.50"
    for kind in ("points", "posts"):
        answer = c.post(url, {"kind": kind, "format": "csv"})
        assert answer.status_code == 200
    with tenancy.tenant_context(org):
        audited = AuditEvent.objects.filter(action="consents.exported").get()
        assert audited.data["rows"] == 1 and audited.data["format"] == "csv"
