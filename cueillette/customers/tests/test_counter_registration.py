"""Registering at the counter (issue 10, item 3): compact, the card at once, the counter next."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cueillette.core import tenancy
from cueillette.customers.models import Customer
from cueillette.loyalty.models import Card

pytestmark = pytest.mark.django_db

CREATE = reverse("customers:create")


def _register(client: Client, **fields: Any) -> Any:
    return client.post(CREATE, {"language": "fr", "heard_from": "", **fields})


def test_the_essentials_come_before_the_optional_part(counter_client: Client) -> None:
    html = counter_client.get(CREATE + "?from=counter&q=Moreau").content.decode()
    more = html.index("register-form__more")
    for name in ("first_name", "last_name", "phone", "email", "consent_loyalty"):
        assert html.index(f'name="{name}"') < more, name
    for name in ("postal_code", "birthday", "tags", "notes", "referrer_q"):
        assert html.index(f'name="{name}"') > more, name
    assert 'name="from" value="counter"' in html
    assert 'value="Moreau"' in html  # what the counter search typed


def test_a_new_member_gets_a_card_and_the_counter_opens_on_them(
    org: Any, counter_client: Client
) -> None:
    response = _register(
        counter_client,
        first_name="Inès",
        last_name="Roux",
        phone="06 98 76 54 32",
        consent_loyalty="on",
        **{"from": "counter"},
    )
    with tenancy.tenant_context(org):
        card = Card.objects.get(customer__last_name="Roux", status="open")
    # The counter's customer page opens the new member's card (customers does not import
    # loyalty: the redirect goes through the counter).
    opened = counter_client.get(response["Location"])
    assert opened["Location"] == reverse("loyalty:counter_card", args=[card.pk])
    member = counter_client.get(opened["Location"])
    assert member.status_code == 200 and card.display_number in member.content.decode()


def test_without_the_loyalty_consent_the_counter_opens_the_customer(
    org: Any, counter_client: Client
) -> None:
    response = _register(
        counter_client,
        first_name="Jules",
        last_name="Blanc",
        email="jules@example.org",
        **{"from": "counter"},
    )
    with tenancy.tenant_context(org):
        customer = Customer.objects.get(last_name="Blanc")
        assert not Card.objects.exists()
    assert response["Location"] == reverse("loyalty:counter_customer", args=[customer.pk])


def test_an_error_in_the_optional_part_opens_it(counter_client: Client) -> None:
    response = _register(
        counter_client, first_name="Zoé", phone="06 11 22 33 44", birthday="pas une date"
    )
    assert response.status_code == 400
    assert '<details class="register-form__more" open>' in response.content.decode()
