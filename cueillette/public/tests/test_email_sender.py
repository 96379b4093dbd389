"""Emails come from the business: its name in From, its contact address in Reply-To."""

from __future__ import annotations

from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from cueillette.accounts.models import User
from cueillette.core.models import Organization
from cueillette.public.tests.conftest import join_data

pytestmark = pytest.mark.django_db


def header(msg: Message, name: str) -> str:
    return str(make_header(decode_header(str(msg[name]))))


def sending_address() -> str:
    return getaddresses([settings.DEFAULT_FROM_EMAIL])[0][1]


def test_join_confirmation_comes_from_the_business_and_answers_reach_it(
    client: Client, other_org: Organization, smtp_server, django_capture_on_commit_callbacks
) -> None:
    other_org.contact_email = "bonjour@epicerie-voisine.example"
    other_org.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/o/{other_org.slug}/join/", join_data(consent_news_email="on"))
    [message] = smtp_server.wait_for(1)
    [(name, address)] = getaddresses([header(message, "From")])
    assert (name, address) == ("Épicerie Voisine", sending_address())
    # The raw header is RFC 2047-encoded (non-ASCII never travels bare).
    assert str(message["From"]).isascii()
    assert header(message, "Reply-To") == "bonjour@epicerie-voisine.example"


def test_without_a_contact_address_there_is_no_reply_to_but_the_name_stays(
    client: Client, org: Organization, smtp_server, django_capture_on_commit_callbacks
) -> None:
    org.contact_email = ""
    org.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/o/{org.slug}/join/", join_data(consent_news_email="on"))
    [message] = smtp_server.wait_for(1)
    assert getaddresses([header(message, "From")]) == [("Cabinet Lumière", sending_address())]
    assert message["Reply-To"] is None


def test_a_name_with_quotes_and_commas_stays_one_sender(
    client: Client, org: Organization, smtp_server, django_capture_on_commit_callbacks
) -> None:
    org.name = 'Chez "Lulu", fleurs & co'
    org.contact_email = "lulu@fleurs.example"
    org.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/o/{org.slug}/join/", join_data(consent_news_email="on"))
    [message] = smtp_server.wait_for(1)
    assert getaddresses([header(message, "From")]) == [
        ('Chez "Lulu", fleurs & co', sending_address())
    ]


def test_an_invitation_answers_the_inviter_from_the_business(
    client_for, owner: User, org: Organization, smtp_server, django_capture_on_commit_callbacks
) -> None:
    owner.email_confirmed_at = timezone.now()
    owner.save()
    org.contact_email = "accueil@lumiere.example"
    org.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(
            "/accounts/team/", {"email": "lea@example.net", "role": "counter"}
        )
    assert response.status_code == 302
    [message] = smtp_server.wait_for(1)
    assert getaddresses([header(message, "From")])[0][0] == "Cabinet Lumière"
    assert header(message, "Reply-To") == owner.email
