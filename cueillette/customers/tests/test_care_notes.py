"""Health data stays out of marketing (issue 10, item 4): care notes apart from tags."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cueillette.apikeys.services import create_api_key
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import care
from cueillette.customers.models import CareNote, Customer
from cueillette.public.tests.conftest import link_in

pytestmark = pytest.mark.django_db

SECRET = "Grossesse-Zephyrine, deuxième trimestre"  # distinctive: its absence is asserted


@pytest.fixture
def patient(org: Any) -> Customer:
    return CustomerFactory(
        organization=org,
        first_name="Nadia",
        last_name="Perrin",
        email="nadia@example.net",
        tags=["ateliers"],
    )


def _add(client: Client, customer: Customer, text: str = SECRET, **extra: str) -> Any:
    return client.post(
        reverse("customers:care_note_add", args=[customer.pk]), {"text": text, **extra}
    )


def test_owner_writes_and_reads_care_notes_counter_never_sees_them(
    org: Any, owner_client: Client, manager_client: Client, counter_client: Client, patient: Any
) -> None:
    response = _add(owner_client, patient)
    assert response.status_code == 302 and response["Location"].endswith("#care")
    detail = reverse("customers:detail", args=[patient.pk])
    assert SECRET in owner_client.get(detail).content.decode()
    assert SECRET in manager_client.get(detail).content.decode()
    page = counter_client.get(detail).content.decode()
    assert SECRET not in page and 'id="care"' not in page
    assert _add(counter_client, patient, "Tabac").status_code == 403
    with tenancy.tenant_context(org):
        assert CareNote.objects.count() == 1
        event = AuditEvent.objects.get(action="care_note.added")
    # The log names the note, never its text (erasure must leave no copy).
    assert "Zephyrine" not in json.dumps(event.data)
    assert patient.tags == ["ateliers"]  # tags untouched


def test_a_correction_keeps_the_history(org: Any, owner_client: Client, patient: Any) -> None:
    _add(owner_client, patient, "Migraines")
    with tenancy.tenant_context(org):
        first = CareNote.objects.get()
    _add(owner_client, patient, "Migraines ophtalmiques", replaces=str(first.pk))
    detail = reverse("customers:detail", args=[patient.pk])
    html = owner_client.get(detail, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Migraines ophtalmiques" in html and "Every version, corrections included" in html
    # Correcting the same note twice: refused, nothing half-written.
    again = _add(owner_client, patient, "Autre", replaces=str(first.pk))
    assert again.status_code == 409
    with tenancy.tenant_context(org):
        assert CareNote.objects.count() == 2
    empty = _add(owner_client, patient, "   ")
    assert empty.status_code == 400 and 'id="care-text-error"' in empty.content.decode()


def test_care_notes_are_not_in_the_staff_export_nor_the_api(
    org: Any, owner_client: Client, patient: Any
) -> None:
    _add(owner_client, patient)
    export = owner_client.post(reverse("customers:export"), {"confirm": "yes"})
    body = b"".join(export.streaming_content).decode("utf-8")
    assert "Nadia" in body and "Zephyrine" not in body
    with tenancy.tenant_context(org):
        _key, raw = create_api_key("Till", "read", actor=Actor.system("test"))
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    one = api.get(f"/api/v1/customers/{patient.pk}")
    assert one.status_code == 200 and "Zephyrine" not in one.content.decode()
    # No list filter reads care notes: a search by their words finds nobody.
    found = api.get("/api/v1/customers", {"q": "Grossesse-Zephyrine"}).json()
    assert found["items"] == []
    unfiltered = api.get("/api/v1/customers", {"care": "grossesse"}).json()
    assert [c["id"] for c in unfiltered["items"]] == [patient.pk]  # an unknown filter is ignored


def _open_space(client: Client, org: Any, email: str, capture: Any, mailoutbox: Any) -> None:
    with capture(execute=True):
        client.post(f"/o/{org.slug}/space/link/", {"email": email, "website": ""})
    response = client.post(link_in(mailoutbox[-1].body, "space/open"))
    assert response.status_code == 302


def test_the_customers_own_export_has_them_and_erasure_blanks_them(
    org: Any,
    owner_client: Client,
    patient: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    _add(owner_client, patient)
    _open_space(client, org, patient.email, django_capture_on_commit_callbacks, mailoutbox)
    export = client.post(f"/o/{org.slug}/space/export/")
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    notes = json.loads(archive.read("care_notes.json"))
    assert [n["text"] for n in notes] == [SECRET]
    assert client.post(f"/o/{org.slug}/space/erase/").status_code == 200
    with tenancy.tenant_context(org):
        assert list(CareNote.objects.values_list("text", flat=True)) == [""]


@pytest.mark.parametrize(
    "tag",
    [
        "Grossesse",
        "enceinte",
        "TABAC",
        "anti-tabac",
        "migraines",
        "diabète",
        "asthme",
        "dépression",
        "cancer du sein",
        "allergie aux noix",
        "pregnancy",
        "smoking",
        "mal de dos",
        "burn-out",
        "Diabetes",
    ],
)
def test_health_like_tags_are_recognised(tag: str) -> None:
    assert care.health_like([tag]) == [tag]


@pytest.mark.parametrize(
    "tag", ["yoga", "thé", "vrac", "fromages", "sans gluten", "ateliers", "pain", "dossier"]
)
def test_ordinary_interests_are_not(tag: str) -> None:
    assert care.health_like([tag]) == []


def test_a_new_health_like_tag_asks_to_confirm_or_use_a_care_note(
    org: Any, owner_client: Client, patient: Any
) -> None:
    edit = reverse("customers:edit", args=[patient.pk])
    data = {
        "first_name": "Nadia",
        "last_name": "Perrin",
        "email": "nadia@example.net",
        "language": "fr",
        "heard_from": "",
        "tags": "ateliers, migraines",
    }
    warned = owner_client.post(edit, data, HTTP_ACCEPT_LANGUAGE="en")
    html = warned.content.decode()
    assert warned.status_code == 400  # the form comes back, with the warning
    assert "“migraines” looks like health information" in html and 'name="tags_confirmed"' in html
    with tenancy.tenant_context(org):
        assert Customer.objects.get(pk=patient.pk).tags == ["ateliers"]
    kept = owner_client.post(edit, {**data, "tags_confirmed": "on"})
    assert kept.status_code == 302
    with tenancy.tenant_context(org):
        assert Customer.objects.get(pk=patient.pk).tags == ["ateliers", "migraines"]
    # Already there: saving again does not warn again.
    assert owner_client.post(edit, data).status_code == 302


def test_the_counter_registration_warns_too(counter_client: Client) -> None:
    response = counter_client.post(
        reverse("customers:create"),
        {
            "first_name": "Léo",
            "phone": "06 12 12 12 12",
            "language": "fr",
            "heard_from": "",
            "tags": "Tabac",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "looks like health information" in response.content.decode()


def test_a_merge_keeps_the_notes_with_the_person(
    org: Any, owner: Any, owner_client: Client, patient: Any
) -> None:
    from cueillette.customers import services

    twin = CustomerFactory(organization=org, first_name="Nadia", email="nadia.p@example.net")
    _add(owner_client, twin, "Asthme léger")
    with tenancy.tenant_context(org):
        services.merge_customers(patient, twin, actor=Actor.staff(owner, "owner"))
    html = owner_client.get(reverse("customers:detail", args=[patient.pk])).content.decode()
    assert "Asthme léger" in html
