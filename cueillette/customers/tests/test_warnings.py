"""What is kept with a warning, at every door: a phone number in a range the phone library does
not know (issue #10, item 17) and a new tag that reads like health data (item 4).

The customers service decides (its result carries the warnings); the API returns them in
``warnings``, the staff pages show them after saving, the import lists them per row.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import care
from cueillette.customers.models import Customer
from cueillette.customers.tests.test_api import Api, make_key
from cueillette.public.tests.conftest import join_data

pytestmark = pytest.mark.django_db

# Ten French digits, in a mobile range the phone library does not know (yet).
UNALLOCATED = "07 00 00 00 01"
UNALLOCATED_E164 = "+33700000001"


@pytest.fixture
def till(org: Organization) -> Api:
    return Api(make_key(org)[1])


# --------------------------------------------------------------------------- the word list


@pytest.mark.parametrize(
    "tag",
    [
        "migraines",
        "Migraine",
        "non-fumeuse",
        "Non fumeuse",
        "mal de dos",
        "maux de tête",
        "enceinte",
        "Allergies",
        "diabétique",
        "back pain",
        "pregnant",
        "d'asthme",
    ],
)
def test_health_words_are_caught_on_whole_words_and_plurals(tag: str) -> None:
    assert care.health_like([tag]) == [tag]


@pytest.mark.parametrize(
    "tag",
    [
        "fumée de saumon",
        "saumon fumé",
        "smoked salmon",
        "enceinte bluetooth",
        "Enceintes Bluetooth",
        "hospitality",
        "fertilisant",
        "pain",
        "dos",
        "stressless",
        "cancerologie du vin",
    ],
)
def test_words_that_merely_contain_one_are_not(tag: str) -> None:
    assert care.health_like([tag]) == []


# --------------------------------------------------------------------------- API


def test_api_create_returns_the_health_and_phone_warnings(org: Organization, till: Api) -> None:
    response = till.post(
        "/customers",
        {
            "first_name": "Inès",
            "phone": UNALLOCATED,
            "tags": ["vrac", "migraines"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == UNALLOCATED_E164  # kept, not refused
    assert body["tags"] == ["vrac", "migraines"]
    by_code = {w["code"]: w for w in body["warnings"]}
    assert set(by_code) == {"phone_unallocated", "health_like_tag"}
    assert by_code["phone_unallocated"]["field"] == "phone"
    assert UNALLOCATED_E164 in by_code["phone_unallocated"]["message"]
    assert by_code["health_like_tag"]["field"] == "tags"
    assert "migraines" in by_code["health_like_tag"]["message"]


def test_api_create_without_anything_odd_has_no_warning(org: Organization, till: Api) -> None:
    response = till.post(
        "/customers", {"first_name": "Inès", "phone": "06 12 34 56 78", "tags": ["fumée"]}
    )
    assert response.status_code == 201
    assert response.json()["warnings"] == []


def test_api_update_warns_about_new_tags_only(org: Organization, till: Api) -> None:
    customer = CustomerFactory(organization=org, tags=["tabac"])
    # "tabac" was already there: no new warning for it; "grossesse" is new.
    response = till.patch(f"/customers/{customer.pk}", {"tags": ["tabac", "grossesse"]})
    assert response.status_code == 200, response.content
    warnings = response.json()["warnings"]
    assert [(w["code"], w["field"]) for w in warnings] == [("health_like_tag", "tags")]
    assert "grossesse" in warnings[0]["message"] and "tabac" not in warnings[0]["message"]
    again = till.patch(f"/customers/{customer.pk}", {"phone": UNALLOCATED})
    assert again.status_code == 200
    assert again.json()["phone"] == UNALLOCATED_E164
    assert [w["code"] for w in again.json()["warnings"]] == ["phone_unallocated"]


def test_the_schema_documents_the_warnings(org: Organization) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    components = schema["components"]["schemas"]
    for name in ("CustomerCreatedOut", "CustomerWrittenOut"):
        assert "warnings" in components[name]["properties"], name
    warning = components["FieldWarningOut"]["properties"]
    assert set(warning) == {"code", "field", "message"}
    patch = schema["paths"]["/api/v1/customers/{customer_id}"]["patch"]
    ref = patch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/CustomerWrittenOut")


# --------------------------------------------------------------------------- staff pages


def test_counter_registration_keeps_an_unknown_range_phone_and_says_so(
    org: Organization, counter_client: Client
) -> None:
    response = counter_client.post(
        reverse("customers:create"),
        {"first_name": "Léo", "phone": UNALLOCATED, "language": "fr", "heard_from": ""},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "wrong number of digits" not in html
    assert "not in a range the phone library knows" in html
    with tenancy.tenant_context(org):
        assert Customer.objects.get(first_name="Léo").phone == UNALLOCATED_E164


def test_staff_edit_keeps_an_unknown_range_phone_and_says_so(
    org: Organization, owner_client: Client
) -> None:
    customer = CustomerFactory(
        organization=org, first_name="Nadia", last_name="Perrin", email="nadia@example.net"
    )
    response = owner_client.post(
        reverse("customers:edit", args=[customer.pk]),
        {
            "first_name": "Nadia",
            "last_name": "Perrin",
            "email": "nadia@example.net",
            "phone": UNALLOCATED,
            "language": "fr",
            "heard_from": "",
            "tags": "",
        },
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Changes saved." in html
    assert "not in a range the phone library knows" in html
    customer.refresh_from_db()
    assert customer.phone == UNALLOCATED_E164


def test_the_join_page_keeps_it_without_refusing(client: Client, org: Organization) -> None:
    response = client.post(f"/o/{org.slug}/join/", join_data(phone=UNALLOCATED))
    assert response.status_code == 302
    with tenancy.tenant_context(org):
        assert Customer.objects.get(first_name="Camille").phone == UNALLOCATED_E164
