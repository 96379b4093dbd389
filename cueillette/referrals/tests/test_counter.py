"""The counter's "who sent you?": credit, choose, refuse, write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import ConsentEvent, Customer, EmailConfirmation
from cueillette.loyalty import rules
from cueillette.loyalty import services as loyalty
from cueillette.referrals import services
from cueillette.referrals.models import Referral, ReferralProgram

pytestmark = pytest.mark.django_db

URL = "/app/customers/new/"


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "first_name": "Hugo",
        "last_name": "Lefèvre",
        "email": "hugo@example.net",
        "phone": "06 55 44 33 22",
        "postal_code": "",
        "language": "fr",
        "birthday": "",
        "tags": "",
        "heard_from": "friend",
        "heard_from_detail": "",
        "notes": "",
        "wording_language": "en",
        "referrer_q": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def program(org: Organization) -> ReferralProgram:
    with tenancy.tenant_context(org):
        return services.get_program()


@pytest.fixture
def claire(org: Organization, program: ReferralProgram) -> Customer:
    customer = CustomerFactory(
        organization=org,
        first_name="Claire",
        last_name="Martin",
        email="claire@example.net",
        phone="+33611111111",
    )
    with tenancy.tenant_context(org):
        loyalty.join_program(customer, actor=Actor.system("test"))
    return customer


@pytest.fixture
def en(counter_client: Client) -> Client:
    counter_client.cookies["django_language"] = "en"
    return counter_client


def rows(org: Organization) -> tuple[int, list[Referral]]:
    with tenancy.tenant_context(org):
        return Customer.objects.count(), list(
            Referral.objects.select_related("referrer", "friend").order_by("id")
        )


def test_the_form_has_the_field(en: Client, claire: Customer) -> None:
    html = en.get(URL).content.decode()
    assert 'name="referrer_q"' in html and "data-who-sent-you" in html
    assert "referrals/counter.js" in html


def test_field_hidden_when_referrals_are_off(
    en: Client, claire: Customer, program: ReferralProgram
) -> None:
    program.enabled = False
    program.save()
    assert 'name="referrer_q"' not in en.get(URL).content.decode()


@pytest.mark.parametrize("query", ["06 11 11 11 11", "claire@example.net", "card"])
def test_an_exact_identifier_credits_the_referrer_at_once(
    en: Client, org: Organization, counter: Any, claire: Customer, query: str
) -> None:
    if query == "card":
        with tenancy.tenant_context(org):
            card = loyalty.open_card_for(claire)
            assert card is not None
            query = rules.format_card_number(card.number)
    response = en.post(URL, form_data(referrer_q=query))
    assert response.status_code == 302, response.content.decode()[:3000]
    count, [referral] = rows(org)
    assert count == 2
    assert referral.referrer == claire and referral.friend.email == "hugo@example.net"
    assert referral.source == "counter" and referral.status == "pending"
    assert referral.created_by == counter


def test_a_name_asks_to_choose_then_the_choice_credits(
    en: Client, org: Organization, claire: Customer
) -> None:
    CustomerFactory(organization=org, first_name="Claude", last_name="Martin")
    response = en.post(URL, form_data(referrer_q="Martin"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose who sent them" in html
    assert f'name="referrer" id="referrer-{claire.pk}" value="{claire.pk}"' in html
    assert rows(org) == (2, [])
    # Nothing is chosen for staff.
    assert "checked" not in html.split("data-referrer-choices")[1].split("</fieldset>")[0]
    response = en.post(URL, form_data(referrer_q="Martin", referrer=str(claire.pk)))
    assert response.status_code == 302
    count, [referral] = rows(org)
    assert count == 3 and referral.referrer == claire and referral.source == "counter"


def test_nothing_matches_says_so(en: Client, org: Organization, claire: Customer) -> None:
    response = en.post(URL, form_data(referrer_q="Zyxwv"))
    assert response.status_code == 400
    assert "No customer matches" in response.content.decode()
    assert rows(org) == (1, [])


def test_empty_field_registers_without_referral(en: Client, org: Organization) -> None:
    response = en.post(URL, form_data())
    assert response.status_code == 302
    assert rows(org)[1] == []


def test_refusal_leaves_no_customer_half_written(
    en: Client,
    org: Organization,
    claire: Customer,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    """Claire's own phone typed for the friend: the service refuses a self-referral."""
    with django_capture_on_commit_callbacks(execute=True):
        response = en.post(
            URL,
            form_data(
                phone="06 11 11 11 11",
                referrer=str(claire.pk),
                referrer_q="Claire",
                consent_news_email="on",
                consent_loyalty="on",
                create_anyway="on",
            ),
        )
    assert response.status_code == 400
    html = response.content.decode()
    assert "cannot refer themselves" in html
    assert 'id="id_referrer_q_error"' in html
    count, referrals = rows(org)
    assert count == 1 and referrals == []
    with tenancy.tenant_context(org):
        assert not ConsentEvent.objects.exclude(customer=claire).exists()
        assert not EmailConfirmation.objects.exists()
    assert mailoutbox == []


def test_choice_of_another_organization_is_refused(
    en: Client, org: Organization, other_org: Organization, claire: Customer
) -> None:
    stranger = CustomerFactory(organization=other_org, first_name="Zoé", last_name="Autre")
    response = en.post(URL, form_data(referrer_q="Zoé", referrer=str(stranger.pk)))
    assert response.status_code == 400
    assert rows(org) == (1, [])


def test_live_search_fragment(en: Client, org: Organization, claire: Customer) -> None:
    response = en.get(URL + "?referrer_search=mart")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="{claire.pk}"' in html and 'type="radio"' in html
    assert "<html" not in html
    other = en.get(URL + "?referrer_search=zzzz").content.decode()
    assert "data-referrer-none" in other


def test_live_search_needs_staff(client: Client, claire: Customer) -> None:
    response = client.get(URL + "?referrer_search=mart")
    assert response.status_code in (302, 403)
