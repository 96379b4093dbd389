"""Double opt-in: a scanner's GET never confirms; the button's POST does, once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.customers.models import ConsentEvent, EmailConfirmation, Purpose
from cueillette.public.tests.conftest import join_data, link_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirm_path(
    client: Client, org: Organization, smtp_server, django_capture_on_commit_callbacks
) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/o/{org.slug}/join/", join_data(consent_news_email="on"))
    [message] = smtp_server.wait_for(1)
    return link_in(smtp_server.body(message), "confirm")


def news_events(org: Organization) -> list[ConsentEvent]:
    with tenancy.tenant_context(org):
        return list(ConsentEvent.objects.filter(purpose=Purpose.NEWS_EMAIL))


def test_get_shows_the_wording_and_a_button_but_records_nothing(
    client: Client, org: Organization, confirm_path: str
) -> None:
    for _ in range(3):  # a mail scanner may open the link several times
        response = client.get(confirm_path)
        assert response.status_code == 200
    html = response.content.decode()
    assert "J&#x27;accepte de recevoir les nouvelles" in html
    assert '<form method="post">' in html
    assert news_events(org) == []


def test_post_records_the_grant_with_evidence(
    client: Client, org: Organization, confirm_path: str
) -> None:
    response = client.post(confirm_path)
    assert response.status_code == 200
    [event] = news_events(org)
    assert event.granted
    assert event.evidence["double_opt_in_confirmed_at"]
    assert event.evidence["double_opt_in_requested_at"]
    assert event.source == "join_page"


def test_second_post_says_already_used(
    client: Client, org: Organization, confirm_path: str
) -> None:
    client.post(confirm_path)
    again = client.post(confirm_path)
    assert again.status_code == 410
    assert "already" in again.content.decode().lower() or "déjà" in again.content.decode()
    assert len(news_events(org)) == 1
    assert client.get(confirm_path).status_code == 410


def test_tampered_link_is_a_clear_page(
    client: Client, org: Organization, confirm_path: str
) -> None:
    tampered = confirm_path.rstrip("/")[:-3] + "abc/"
    for response in (client.get(tampered), client.post(tampered)):
        assert response.status_code == 400
        assert 'role="alert"' in response.content.decode()
    assert client.get(f"/o/{org.slug}/confirm/garbage/").status_code == 400
    assert news_events(org) == []


def test_expired_link_is_a_clear_page(client: Client, org: Organization, confirm_path: str) -> None:
    with tenancy.tenant_context(org):
        EmailConfirmation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = client.post(confirm_path)
    assert response.status_code == 410
    assert news_events(org) == []


def test_link_of_another_organization_does_not_work(
    client: Client, org: Organization, other_org: Organization, confirm_path: str
) -> None:
    foreign = confirm_path.replace(f"/o/{org.slug}/", f"/o/{other_org.slug}/")
    assert client.post(foreign).status_code == 400
    assert news_events(org) == []
