"""The loyalty consent is the membership, whatever the door records it.

Regression: withdrawing the loyalty consent from the staff customer page or through the API used
to leave the card open and earning (only the customer's own space closed it: the hook fired from
the space, not from ``record_consent``). The card now follows ``Consequence.CONSENT_CHANGED``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer
from cueillette.customers.services import has_consent
from cueillette.loyalty import services
from cueillette.loyalty.models import Card, CardStatus, Program, Purchase
from cueillette.loyalty.tests.test_api import Till, assert_error, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def till(org: Organization) -> Till:
    return Till(make_key(org))


@pytest.fixture
def member(org: Organization) -> Customer:
    customer = CustomerFactory(organization=org, first_name="Maëlle", email="maelle@example.org")
    with tenancy.tenant_context(org):
        services.get_program()
        services.join_program(customer, actor=Actor.system("test"))
    return customer


def cards(org: Organization, customer: Customer) -> list[tuple[str, str]]:
    with tenancy.tenant_context(org):
        return list(Card.objects.filter(customer=customer).values_list("number", "status"))


def staff_consent(client: Client, customer: Customer, action: str) -> Any:
    url = reverse("customers:consent", args=[customer.pk])
    return client.post(url, {"purpose": "loyalty", "action": action})


def api_consent(till: Till, customer: Customer, granted: bool) -> Any:
    return till.post(
        f"/customers/{customer.pk}/consents", {"purpose": "loyalty", "granted": granted}
    )


def assert_left(org: Organization, customer: Customer) -> None:
    with tenancy.tenant_context(org):
        assert not has_consent(customer, "loyalty")
        assert [s for _n, s in cards(org, customer)] == [CardStatus.CLOSED]
        assert AuditEvent.objects.filter(action="loyalty.left").count() == 1


def test_staff_page_withdrawal_closes_the_card_and_stops_earning(
    org: Organization, counter_client: Client, till: Till, member: Customer
) -> None:
    [(number, _status)] = cards(org, member)
    assert staff_consent(counter_client, member, "withdraw").status_code == 302
    assert_left(org, member)
    # No more points: the till is told the card is closed, and nothing is written.
    response = till.post("/purchases", {"card_number": number, "amount": "20", "receipt_id": "R1"})
    assert_error(response, 400, "card_closed", "card")
    with tenancy.tenant_context(org):
        assert Purchase.objects.count() == 0


def test_api_withdrawal_closes_the_card_and_stops_earning(
    org: Organization, till: Till, member: Customer
) -> None:
    [(number, _status)] = cards(org, member)
    response = api_consent(till, member, False)
    assert response.status_code == 201, response.content
    assert_left(org, member)
    response = till.post("/purchases", {"card_number": number, "amount": "20", "receipt_id": "R1"})
    assert_error(response, 400, "card_closed", "card")


def test_a_grant_from_the_staff_page_or_the_api_issues_one_card(
    org: Organization, counter_client: Client, till: Till
) -> None:
    at_counter = CustomerFactory(organization=org, email="a@example.org")
    by_api = CustomerFactory(organization=org, email="b@example.org")
    with tenancy.tenant_context(org):
        Program.objects.update_or_create(organization=org, defaults={"welcome_bonus": 10})
    assert staff_consent(counter_client, at_counter, "grant").status_code == 302
    assert api_consent(till, by_api, True).status_code == 201
    for customer in (at_counter, by_api):
        assert [s for _n, s in cards(org, customer)] == [CardStatus.OPEN]
        with tenancy.tenant_context(org):
            card = Card.objects.get(customer=customer)
            assert card.balance == 10  # the welcome gift, as when joining at the counter
            # One grant in the ledger: issuing the card did not record it a second time.
            assert customer.consent_events.filter(purpose="loyalty").count() == 1
    # Granting again changes nothing: still one card.
    assert staff_consent(counter_client, at_counter, "grant").status_code == 302
    assert api_consent(till, by_api, True).status_code == 200
    assert len(cards(org, at_counter)) == len(cards(org, by_api)) == 1


def test_withdraw_then_grant_again_gives_a_new_card(
    org: Organization, counter_client: Client, member: Customer
) -> None:
    staff_consent(counter_client, member, "withdraw")
    staff_consent(counter_client, member, "grant")
    statuses = sorted(s for _n, s in cards(org, member))
    assert statuses == sorted([CardStatus.CLOSED, CardStatus.OPEN])


def test_a_grant_while_the_program_is_closed_issues_no_card(
    org: Organization, counter_client: Client
) -> None:
    customer = CustomerFactory(organization=org, email="c@example.org")
    with tenancy.tenant_context(org):
        Program.objects.update_or_create(organization=org, defaults={"enabled": False})
    assert staff_consent(counter_client, customer, "grant").status_code == 302
    assert cards(org, customer) == []
    with tenancy.tenant_context(org):
        assert has_consent(customer, "loyalty")  # the decision is recorded all the same
