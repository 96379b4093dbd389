"""One state per purpose, worded for a person, on the customer record and in the customer space."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.customers import services
from cueillette.customers.models import Customer, Purpose
from cueillette.public.tests.conftest import join_data
from cueillette.public.tests.test_portal_pages import open_space

pytestmark = pytest.mark.django_db

STAFF_STATES = {
    "Given": "granted",
    "Waiting for email confirmation": "awaiting",
    "Withdrawn": "withdrawn",
    "Never asked": "never",
}


def staff_rows(html: str) -> dict[str, list[str]]:
    """Per purpose label, the state badges shown in its row of the customer record."""
    out = {}
    for row in re.findall(r'<li class="consent-row">(.*?)</li>', html, re.S):
        label = re.search(r"<strong>(.*?)</strong>", row).group(1)  # type: ignore[union-attr]
        out[label] = re.findall(r'<span class="badge[^"]*">([^<]*)</span>', row)
    return out


def joined(client: Client, org: Organization, capture, **ticks: str) -> Customer:
    with capture(execute=True):
        client.post(f"/o/{org.slug}/join/", join_data(**ticks))
    with tenancy.tenant_context(org):
        return Customer.objects.get(email="camille@example.net")


def test_awaiting_confirmation_is_the_one_state_not_also_never_asked(
    client: Client, owner_client: Client, org: Organization, django_capture_on_commit_callbacks
) -> None:
    customer = joined(client, org, django_capture_on_commit_callbacks, consent_news_email="on")
    html = owner_client.get(f"/app/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="en").content
    rows = staff_rows(html.decode())
    assert rows["News by email"] == ["Waiting for email confirmation"]
    assert "Confirmation email sent to camille@example.net on" in html.decode()
    # Every purpose shows exactly one state.
    assert all(len(badges) == 1 and badges[0] in STAFF_STATES for badges in rows.values())
    assert rows["News by SMS"] == ["Never asked"]


def test_a_withdrawal_followed_by_a_new_request_reads_as_awaiting_and_says_what_holds(
    client: Client, owner_client: Client, org: Organization, django_capture_on_commit_callbacks
) -> None:
    customer = joined(client, org, django_capture_on_commit_callbacks)
    with tenancy.tenant_context(org), django_capture_on_commit_callbacks(execute=True):
        services.record_consent(
            customer, Purpose.NEWS_EMAIL, False, source="counter", actor=Actor.system("test")
        )
        services.request_email_confirmation(
            customer,
            Purpose.NEWS_EMAIL,
            source="counter",
            actor=Actor.system("test"),
            wording=services.current_wording(Purpose.NEWS_EMAIL, "fr"),
        )
    html = owner_client.get(
        f"/app/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert staff_rows(html)["News by email"] == ["Waiting for email confirmation"]
    assert "Until then, the consent stays withdrawn" in html


def test_the_customer_space_shows_one_state_per_purpose_in_french(
    client: Client, org: Organization, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    customer = joined(
        client,
        org,
        django_capture_on_commit_callbacks,
        consent_news_email="on",
        consent_loyalty="on",
    )
    open_space(client, org, customer, django_capture_on_commit_callbacks, mailoutbox)
    html = client.get(f"/o/{org.slug}/space/").content.decode()
    items = re.findall(r'<li class="consent-item">(.*?)</li>', html, re.S)
    assert len(items) == len(Purpose.values)
    for item in items:
        assert len(re.findall(r'<span class="badge', item)) == 1
    news = next(i for i in items if "Nouvelles par e-mail" in i)
    assert "En attente de votre confirmation" in news
    assert "jamais" not in news.lower()
    assert "nous vous avons envoyé un e-mail le" in news


def test_who_recorded_a_consent_is_worded_for_a_person(
    client: Client, owner_client: Client, org: Organization, django_capture_on_commit_callbacks
) -> None:
    customer = joined(client, org, django_capture_on_commit_callbacks, consent_loyalty="on")
    with tenancy.tenant_context(org):
        services.record_consent(
            customer,
            Purpose.FEEDBACK,
            True,
            source="api",
            actor=Actor.api("Caisse 1", ["consents:write"]),
        )
    html = owner_client.get(
        f"/app/customers/{customer.pk}/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "recorded by API key «Caisse 1»" in html
    assert "recorded by the customer themselves (on the join page)" in html
    assert "API: Caisse 1" not in html
