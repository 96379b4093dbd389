"""The join page: one unticked box per purpose, the customer created with what they ticked."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.customers import services
from cueillette.customers.models import (
    ConsentEvent,
    Customer,
    EmailConfirmation,
    Purpose,
    Source,
)
from cueillette.public.tests.conftest import join_data, link_in

pytestmark = pytest.mark.django_db


def url(org: Organization, name: str = "join") -> str:
    return f"/o/{org.slug}/{name}/"


def test_join_page_renders_unticked_boxes_with_current_wordings(
    client: Client, org: Organization
) -> None:
    with tenancy.tenant_context(org):
        services.set_wording(
            Purpose.LOYALTY, "fr", "Je rejoins le programme, version deux.", actor=Actor.system()
        )
        wordings = services.current_wordings("fr")
    response = client.get(url(org))
    assert response.status_code == 200
    html = response.content.decode()
    boxes = re.findall(r'<input type="checkbox"[^>]*>', html)
    assert len(boxes) == len(Purpose.values)
    assert not any("checked" in box for box in boxes)
    for wording in wordings.values():
        assert wording.text.replace("'", "&#x27;") in html
    assert "Je rejoins le programme, version deux." in html
    assert 'lang="fr"' in html
    assert org.name in html


def test_join_page_speaks_english_on_request(client: Client, org: Organization) -> None:
    response = client.get(url(org) + "?lang=en")
    html = response.content.decode()
    assert 'lang="en"' in html
    assert "I join the loyalty program" in html
    assert response.cookies["cueillette_lang"].value == "en"


def test_unknown_organization_is_404(client: Client, db: None) -> None:
    assert client.get("/o/nobody-here/join/").status_code == 404


def test_joining_records_only_ticked_purposes(
    client: Client, org: Organization, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(org), join_data(consent_loyalty="on", consent_feedback="on"))
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/join/thanks/"
    with tenancy.tenant_context(org):
        customer = Customer.objects.get()
        assert customer.source == Source.JOIN_PAGE
        assert customer.first_name == "Camille"
        assert customer.postal_code == "69003"
        events = list(ConsentEvent.objects.filter(customer=customer))
        assert sorted(e.purpose for e in events) == ["feedback", "loyalty"]
        assert all(e.granted and e.source == Source.JOIN_PAGE for e in events)
        assert all(e.actor_kind == "customer" and e.actor_label == "join page" for e in events)
        # The ledger is tied to the exact wording shown.
        assert all(e.wording_hash == e.wording.text_hash for e in events)
    # No news ticked: no email at all.
    assert mailoutbox == []
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert f"/o/{org.slug}/space/link/" in done.content.decode()


def test_joining_with_nothing_ticked_records_no_consent(client: Client, org: Organization) -> None:
    client.post(url(org), join_data())
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 1
        assert ConsentEvent.objects.count() == 0


def test_join_errors_are_shown_next_to_the_field(client: Client, org: Organization) -> None:
    client.cookies["cueillette_lang"] = "en"  # asserts the English wording
    response = client.post(url(org), join_data(email="camille.example.net", consent_news_sms="on"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "email is not valid: missing @" in html or "phone is needed" in html
    assert 'aria-invalid="true"' in html
    # Ticked boxes stay ticked after an error, unticked ones stay unticked.
    boxes = re.findall(r'<input type="checkbox"[^>]*>', html)
    assert sum("checked" in b for b in boxes) == 1
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 0


def test_bad_email_is_named(client: Client, org: Organization) -> None:
    response = client.post(url(org), join_data(email="camille.example.net"))
    html = response.content.decode()
    assert "email is not valid: missing @" in html or "adresse" in html
    assert 'id="id_email_error"' in html


def test_sms_needs_a_phone(client: Client, org: Organization) -> None:
    response = client.post(url(org), join_data(consent_news_sms="on"))
    assert response.status_code == 200
    assert 'id="id_phone_error"' in response.content.decode()


def test_honeypot_pretends_success_and_creates_nothing(client: Client, org: Organization) -> None:
    response = client.post(url(org), join_data(website="http://spam.example"))
    assert response.status_code == 302
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 0


def test_join_is_rate_limited_by_ip(client: Client, org: Organization, settings) -> None:
    from cueillette.public import views

    limit = views.RATE_LIMIT
    for i in range(limit):
        client.post(url(org), join_data(email=f"p{i}@example.net"))
    response = client.post(url(org), join_data(email="one.more@example.net"))
    assert response.status_code == 429
    with tenancy.tenant_context(org):
        assert not Customer.objects.filter(email="one.more@example.net").exists()


def test_known_email_is_not_revealed_and_gets_a_magic_link(
    client: Client,
    org: Organization,
    customer: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(url(org), join_data(email=customer.email, consent_news_email="on"))
    with django_capture_on_commit_callbacks(execute=True):
        new = client.post(url(org), join_data(email="someone.new@example.net"))
    assert known.status_code == new.status_code == 302
    assert known["Location"] == new["Location"]
    with tenancy.tenant_context(org):
        # Nothing changed for the known customer: no consent written by a stranger's form.
        assert not ConsentEvent.objects.filter(customer=customer).exists()
        assert not EmailConfirmation.objects.exists()
        assert Customer.objects.filter(email=customer.email).count() == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [customer.email]
    link_in(mailoutbox[0].body, "space/open")


def test_news_by_email_sends_the_confirmation_through_smtp(
    client: Client, org: Organization, smtp_server, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(org), join_data(consent_news_email="on"))
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "camille@example.net"
    body = smtp_server.body(message)
    path = link_in(body, "confirm")
    with tenancy.tenant_context(org):
        # Not granted yet: the customer has to press the button.
        assert not ConsentEvent.objects.filter(purpose=Purpose.NEWS_EMAIL).exists()
        assert EmailConfirmation.objects.filter(used_at__isnull=True).count() == 1
    assert client.get(path).status_code == 200


def test_every_field_error_shows_in_one_round(client, org):
    """Empty names and a bad email and phone: all four errors at once, nothing written."""
    client.cookies["cueillette_lang"] = "en"
    response = client.post(
        f"/o/{org.slug}/join/",
        {"first_name": "", "last_name": "", "email": "jean.dupont", "phone": "12"},
    )
    assert response.status_code in (200, 400)
    html = response.content.decode()
    assert "first name is required" in html
    assert "last name is required" in html
    assert "email is not valid: missing @" in html
    assert "phone is not valid" in html
