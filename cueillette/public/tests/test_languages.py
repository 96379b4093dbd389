"""Pages follow the browser's language on a first visit, then the person's choice; English
pages use British formats; French counts use the French plural."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import formats, timezone, translation

from cueillette.core import audit, tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.loyalty import services as loyalty_services

pytestmark = pytest.mark.django_db


def lang_of(response) -> str:
    match = re.search(r'<html lang="([a-z-]+)"', response.content.decode())
    assert match
    return match.group(1)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("en-GB,en;q=0.9", "en"),
        ("en-US", "en"),
        ("de-DE,de;q=0.9,en;q=0.5", "en"),  # the first language we speak, in their order
        ("de-DE,de;q=0.9", "fr"),  # none we speak: the business's language
        ("", "fr"),
    ],
)
def test_a_first_visit_to_a_public_page_follows_the_browser(
    client: Client, org: Organization, accept: str, expected: str
) -> None:
    response = client.get(f"/o/{org.slug}/join/", HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 200
    assert lang_of(response) == expected


def test_an_english_business_greets_an_unknown_browser_in_english(
    client: Client, org: Organization
) -> None:
    org.language = "en"
    org.save()
    response = client.get(f"/o/{org.slug}/join/", HTTP_ACCEPT_LANGUAGE="es")
    assert lang_of(response) == "en"


def test_the_choice_then_wins_over_the_browser_on_public_and_staff_pages(
    client: Client, org: Organization
) -> None:
    chosen = client.get(f"/o/{org.slug}/join/?lang=fr", HTTP_ACCEPT_LANGUAGE="en")
    assert lang_of(chosen) == "fr"
    assert chosen.cookies["cueillette_lang"].value == "fr"
    assert chosen.cookies["django_language"].value == "fr"
    assert lang_of(client.get(f"/o/{org.slug}/join/", HTTP_ACCEPT_LANGUAGE="en")) == "fr"
    # The landing and the login page (no business) follow the same choice.
    assert lang_of(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")) == "fr"


def test_anonymous_pages_without_a_business_follow_the_browser(client: Client, db: None) -> None:
    assert lang_of(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-GB")) == "en"
    assert lang_of(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr-FR")) == "fr"


def test_english_dates_are_british(owner_client: Client, org: Organization) -> None:
    with translation.override("en"):
        assert formats.get_format("SHORT_DATE_FORMAT") == "d/m/Y"
        assert formats.date_format(timezone.datetime(2026, 12, 6), "DATE_FORMAT") == (
            "6 December 2026"
        )
    with tenancy.tenant_context(org):
        event = audit.record(Actor.system(), "organization.updated", org, fields=["name"])
    response = owner_client.get("/app/customers/audit/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    local = timezone.localtime(event.created_at)
    assert local.strftime("%d/%m/%Y %H:%M") in html


def test_counter_messages_count_points_in_french(
    counter_client: Client, org: Organization, owner
) -> None:
    with tenancy.tenant_context(org):
        customer = CustomerFactory(organization=org)
        card = loyalty_services.join_program(customer, actor=Actor.staff(owner, "owner"))
    # 0,40 € earns no point: "+0 point ... Solde : 0 point." (French: singular for 0 and 1).
    preview = counter_client.post(
        f"/app/loyalty/card/{card.pk}/preview/",
        {"amount": "0,40"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    html = preview.content.decode()
    amount = re.search(r'name="amount" value="([^"]+)"', html)
    receipt = re.search(r'name="receipt_id" value="([^"]+)"', html)
    assert amount and receipt
    done = counter_client.post(
        f"/app/loyalty/card/{card.pk}/purchase/",
        {"amount": amount.group(1), "receipt_id": receipt.group(1)},
        HTTP_ACCEPT_LANGUAGE="fr",
        follow=True,
    )
    text = done.content.decode()
    assert "+0 point pour" in text and "Solde\u00a0: 0 point." in text
    assert "0 points" not in text


def test_a_one_point_reward_is_offered_in_the_singular(
    counter_client: Client, org: Organization, owner
) -> None:
    from cueillette.loyalty.models import Reward

    with tenancy.tenant_context(org):
        customer = CustomerFactory(organization=org)
        card = loyalty_services.join_program(customer, actor=Actor.staff(owner, "owner"))
        loyalty_services.adjust(card, 1, reason="test", actor=Actor.staff(owner, "owner"))
        Reward.objects.create(name="Sucre d'orge", cost=1, stock=5)
    html = counter_client.get(
        f"/app/loyalty/card/{card.pk}/", HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "pour 1 point\u00a0?" in html
    assert "1 points" not in html
