"""The customer downloads all we hold: a zip of JSON and CSV, formulas neutralised."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import services
from cueillette.customers.models import Customer, Purpose

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def open_space(client: Client, org: Organization, customer: Customer, capture, mailoutbox) -> None:
    with capture(execute=True):
        client.post(f"/o/{org.slug}/space/link/", {"email": customer.email})
    path = re.search(
        re.escape(settings.SITE_URL) + r"(/o/\S+/space/open/\S+/)", mailoutbox[-1].body
    )
    assert path
    assert client.post(path.group(1)).status_code == 302


def test_export_zip_has_everything_and_no_formula(
    client: Client, org: Organization, owner, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    # A fixed, distinctive staff name: the export must not contain it (a generated one could
    # happen to be part of the customer's own data).
    owner.full_name = "Gaspard Équipiersolo"
    owner.save(update_fields=["full_name"])
    customer = CustomerFactory(
        organization=org,
        first_name='=HYPERLINK("http://evil")',
        last_name="+Dupont",
        email="dupont@example.net",
        notes="@SUM(1+1) likes green tea",
        tags=["-tea"],
    )
    with tenancy.tenant_context(org):
        services.record_consent(
            customer, Purpose.LOYALTY, True, source="counter", actor=Actor.staff(owner, "owner")
        )
        services.record_consent(
            customer, Purpose.LOYALTY, False, source="counter", actor=Actor.staff(owner, "owner")
        )
    open_space(client, org, customer, django_capture_on_commit_callbacks, mailoutbox)

    assert client.get(f"/o/{org.slug}/space/export/").status_code == 405  # a POST button only
    response = client.post(f"/o/{org.slug}/space/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    # The loyalty consent is the membership wherever it is recorded: the staff's grant issued a
    # card (closed by the withdrawal), whose history is part of the export; messages.json is
    # what the send gate decided for them (here, the magic link just sent).
    assert sorted(archive.namelist()) == [
        "consents.csv",
        "data.json",
        "loyalty.json",
        "loyalty_entries.csv",
        "messages.json",
        "profile.csv",
    ]

    data = json.loads(archive.read("data.json"))
    assert data["profile"]["email"] == "dupont@example.net"
    assert data["profile"]["notes"] == "@SUM(1+1) likes green tea"  # JSON keeps the exact text
    assert [c["decision"] for c in data["consents"]] == ["given", "withdrawn"]
    with tenancy.tenant_context(org):
        wording = services.current_wording(Purpose.LOYALTY, "fr")
    assert data["consents"][0]["wording_text"] == wording.text
    assert data["consents"][0]["wording_hash"] == wording.text_hash
    actions = [h["action"] for h in data["history"]]
    assert "consent.granted" in actions and "consent.withdrawn" in actions
    # Other people's data (the staff member's name) is not in the export.
    assert owner.display_name not in archive.read("data.json").decode()

    profile = archive.read("profile.csv").decode("utf-8-sig")
    rows = {r[0]: r[1] for r in csv.reader(io.StringIO(profile), delimiter=";")}
    assert rows["first_name"] == '\'=HYPERLINK("http://evil")'
    assert rows["last_name"] == "'+Dupont"
    assert rows["notes"] == "'@SUM(1+1) likes green tea"
    assert rows["tags"] == "'-tea"
    consents = list(
        csv.reader(io.StringIO(archive.read("consents.csv").decode("utf-8-sig")), delimiter=";")
    )
    assert consents[0][:3] == ["occurred_at", "purpose", "decision"]
    assert [r[2] for r in consents[1:]] == ["given", "withdrawn"]
    for line in profile.splitlines() + [";".join(r) for r in consents]:
        for cell in line.split(";"):
            assert not cell.startswith(("=", "+", "-", "@"))

    with tenancy.tenant_context(org):
        row = AuditEvent.objects.get(action="customer.exported_by_self")
        assert row.object_id == str(customer.pk)
        assert row.actor_kind == "customer"
        assert "dupont" not in json.dumps(row.data).lower()
