"""The card at once (issue 10, item 3): a new member sees their card on the thank-you page."""

from __future__ import annotations

import pytest
from django.test import Client

from cueillette.core import tenancy
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import EmailConfirmation
from cueillette.loyalty.models import Card
from cueillette.public.tests.conftest import join_data

pytestmark = pytest.mark.django_db


def _join(client: Client, org, **data):
    client.cookies["cueillette_lang"] = "en"  # the page speaks the organization's French else
    response = client.post(f"/o/{org.slug}/join/", join_data(**data), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    return client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")


def test_new_member_sees_the_card_even_before_confirming_news(
    client: Client, org, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        page = _join(client, org, consent_loyalty="on", consent_news_email="on")
    html = page.content.decode()
    with tenancy.tenant_context(org):
        card = Card.objects.get(customer__email="camille@example.net")
        assert EmailConfirmation.objects.filter(used_at__isnull=True).count() == 1
    assert page.status_code == 200
    assert "Your loyalty card is ready" in html
    assert card.display_number in html
    assert "<svg" in html  # the QR code
    # The phone's home-screen card: the wallet page, with its manifest and service worker.
    wallet = html.split('href="/o/' + org.slug + "/wallet/", 1)[1].split('"', 1)[0]
    wallet_page = client.get(f"/o/{org.slug}/wallet/{wallet}")
    assert wallet_page.status_code == 200
    assert "manifest.webmanifest" in wallet_page.content.decode()
    # What waits for the email: news only.
    assert "We sent you an email to confirm “News by email”" in html
    assert "Your loyalty card does not wait for this email." in html
    assert len(mailoutbox) == 1


def test_no_card_without_the_loyalty_consent(client: Client, org) -> None:
    html = _join(client, org, consent_feedback="on").content.decode()
    assert "Welcome Camille!" in html and "Your loyalty card is ready" not in html
    with tenancy.tenant_context(org):
        assert not Card.objects.exists()


def test_an_address_already_known_shows_no_card(client: Client, org) -> None:
    CustomerFactory(organization=org, email="camille@example.net")
    html = _join(client, org, consent_loyalty="on").content.decode()
    # Anyone can type an address: the existing record's card is never shown.
    assert "Your loyalty card is ready" not in html
    assert "Please check your email" in html


def test_another_browser_sees_no_card(client: Client, org) -> None:
    _join(client, org, consent_loyalty="on")
    html = Client().get(f"/o/{org.slug}/join/thanks/", HTTP_ACCEPT_LANGUAGE="en").content
    assert b"Your loyalty card is ready" not in html


def test_a_friend_joining_from_an_invitation_sees_the_card_too(client: Client, org) -> None:
    from cueillette.core.audit import Actor
    from cueillette.loyalty import services as loyalty
    from cueillette.referrals import services as referrals

    claire = CustomerFactory(organization=org, first_name="Claire", email="claire@example.net")
    with tenancy.tenant_context(org):
        loyalty.join_program(claire, actor=Actor.system("test"))
        code = referrals.code_for(claire)
    client.cookies["cueillette_lang"] = "en"
    response = client.post(f"/o/{org.slug}/r/{code.token}/", join_data(consent_loyalty="on"))
    assert response.status_code == 302
    html = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    with tenancy.tenant_context(org):
        card = Card.objects.get(customer__email="camille@example.net")
    assert "Your loyalty card is ready" in html and card.display_number in html
