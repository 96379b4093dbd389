"""The customer's space: magic link, what we hold, one-click choices, correction, isolation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import services
from cueillette.customers.models import AccessToken, ConsentEvent, Customer, Purpose
from cueillette.public.tests.conftest import link_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(org: Organization) -> Customer:
    customer = CustomerFactory(
        organization=org,
        first_name="Aïcha",
        last_name="Benali",
        email="aicha@example.net",
        notes="Prefers morning appointments",
        tags=["tea", "yoga"],
        heard_from="friend",
    )
    with tenancy.tenant_context(org):
        services.record_consent(
            customer, Purpose.LOYALTY, True, source="counter", actor=Actor.system("test")
        )
    return customer


def request_link(client: Client, org: Organization, email: str, capture, mailoutbox) -> str:
    with capture(execute=True):
        response = client.post(f"/o/{org.slug}/space/link/", {"email": email, "website": ""})
    assert response.status_code == 200
    return link_in(mailoutbox[-1].body, "space/open")


def open_space(client: Client, org: Organization, customer: Customer, capture, mailoutbox) -> None:
    path = request_link(client, org, customer.email, capture, mailoutbox)
    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/space/"


def test_request_answers_the_same_for_unknown_addresses(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        a = client.post(f"/o/{org.slug}/space/link/", {"email": known.email})
        b = client.post(f"/o/{org.slug}/space/link/", {"email": "nobody@example.net"})
        c = client.post(f"/o/{org.slug}/space/link/", {"email": "not an email"})
    assert a.status_code == b.status_code == c.status_code == 200
    assert a.content == b.content == c.content
    assert [m.to for m in mailoutbox] == [[known.email]]


def test_magic_link_get_shows_a_button_post_opens_once(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    path = request_link(client, org, known.email, django_capture_on_commit_callbacks, mailoutbox)
    with tenancy.tenant_context(org):
        token = AccessToken.objects.get()
        assert path.rstrip("/").rsplit("/", 1)[-1] not in token.token_hash  # stored hashed
    # A scanner's GETs do not burn the link.
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200
    assert client.get(f"/o/{org.slug}/space/").status_code == 302  # not open yet
    response = client.post(path)
    assert response.status_code == 302
    space = client.get(f"/o/{org.slug}/space/")
    assert space.status_code == 200
    assert space["Cache-Control"].startswith("max-age=0")
    # Reused: refused with a clear page, on another device too.
    other = Client()
    assert other.post(path).status_code == 410
    assert other.get(path).status_code == 410
    assert other.get(f"/o/{org.slug}/space/").status_code == 302


def test_expired_and_invalid_magic_links(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    path = request_link(client, org, known.email, django_capture_on_commit_callbacks, mailoutbox)
    with tenancy.tenant_context(org):
        AccessToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.post(path)
    assert response.status_code == 410
    assert f"/o/{org.slug}/space/link/" in response.content.decode()
    assert client.post(f"/o/{org.slug}/space/open/not-a-token/").status_code == 400
    assert client.get(f"/o/{org.slug}/space/").status_code == 302


def test_space_shows_everything_held(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    open_space(client, org, known, django_capture_on_commit_callbacks, mailoutbox)
    html = client.get(f"/o/{org.slug}/space/").content.decode()
    for text in (
        "Aïcha",
        "Benali",
        "aicha@example.net",
        "Prefers morning appointments",
        "tea",
        "yoga",
    ):
        assert text in html
    with tenancy.tenant_context(org):
        wording = services.current_wording(Purpose.LOYALTY, "fr")
    assert wording.text.replace("'", "&#x27;") in html
    assert "version 1" in html
    with tenancy.tenant_context(org):
        known.refresh_from_db()
        assert known.last_activity_at is not None
        assert AuditEvent.objects.filter(action="customer.portal_opened").count() == 1


def test_one_click_withdraw_and_give(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    open_space(client, org, known, django_capture_on_commit_callbacks, mailoutbox)
    response = client.post(
        f"/o/{org.slug}/space/consent/", {"purpose": "loyalty", "decision": "withdraw"}
    )
    assert response.status_code == 302
    with tenancy.tenant_context(org):
        entries = list(
            ConsentEvent.objects.filter(customer=known, purpose="loyalty").order_by("id")
        )
        assert [e.granted for e in entries] == [True, False]  # appended, nothing overwritten
        assert entries[-1].source == "portal"
        assert entries[-1].actor_kind == "customer"
    client.post(f"/o/{org.slug}/space/consent/", {"purpose": "feedback", "decision": "give"})
    with tenancy.tenant_context(org):
        assert services.has_consent(known, "feedback")
    # News by email: confirmation first.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/o/{org.slug}/space/consent/", {"purpose": "news_email", "decision": "give"})
    with tenancy.tenant_context(org):
        assert not services.has_consent(known, "news_email")
    confirm = link_in(mailoutbox[-1].body, "confirm")
    client.post(confirm)
    with tenancy.tenant_context(org):
        assert services.has_consent(known, "news_email")


def test_unknown_choice_changes_nothing(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    open_space(client, org, known, django_capture_on_commit_callbacks, mailoutbox)
    client.post(f"/o/{org.slug}/space/consent/", {"purpose": "spam", "decision": "give"})
    with tenancy.tenant_context(org):
        assert ConsentEvent.objects.filter(customer=known).count() == 1


def test_correct_details(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    open_space(client, org, known, django_capture_on_commit_callbacks, mailoutbox)
    assert client.get(f"/o/{org.slug}/space/edit/").status_code == 200
    bad = client.post(
        f"/o/{org.slug}/space/edit/",
        {"first_name": "Aïcha", "last_name": "Benali", "email": "nope", "language": "fr"},
    )
    assert bad.status_code == 200
    assert 'id="id_email_error"' in bad.content.decode()
    good = client.post(
        f"/o/{org.slug}/space/edit/",
        {
            "first_name": "Aïcha",
            "last_name": "Benali-Martin",
            "email": "aicha@example.net",
            "phone": "06 12 34 56 78",
            "postal_code": "75011",
            "language": "en",
            "birthday": "1990-04-02",
        },
    )
    assert good.status_code == 302
    with tenancy.tenant_context(org):
        known.refresh_from_db()
        assert known.last_name == "Benali-Martin"
        assert known.phone == "+33612345678"
        assert known.language == "en"
        assert known.birthday == dt.date(1990, 4, 2)
        row = AuditEvent.objects.get(action="customer.updated")
        assert row.actor_kind == "customer"
        assert "Benali" not in str(row.data)


def test_logout_closes_the_space(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    open_space(client, org, known, django_capture_on_commit_callbacks, mailoutbox)
    client.post(f"/o/{org.slug}/space/logout/")
    assert client.get(f"/o/{org.slug}/space/").status_code == 302


def test_space_expires_after_two_hours(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    open_space(client, org, known, django_capture_on_commit_callbacks, mailoutbox)
    session = client.session
    key = f"portal_customer_{org.pk}"
    data = session[key]
    data["expires"] = 0
    session[key] = data
    session.save()
    assert client.get(f"/o/{org.slug}/space/").status_code == 302


def test_space_of_one_organization_does_not_open_another(
    client: Client,
    org: Organization,
    other_org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    open_space(client, org, known, django_capture_on_commit_callbacks, mailoutbox)
    # Org B's space: closed (no session for it), nothing of A's customer shown.
    response = client.get(f"/o/{other_org.slug}/space/")
    assert response.status_code == 302
    assert response["Location"] == f"/o/{other_org.slug}/space/link/"
    # Even a session that claims org B with A's customer id finds nothing: 404.
    session = client.session
    session[f"portal_customer_{other_org.pk}"] = {
        "customer": known.pk,
        "org": other_org.pk,
        "expires": 9e12,
    }
    session.save()
    for path in ("space/", "space/edit/"):
        assert client.get(f"/o/{other_org.slug}/{path}").status_code == 404
    assert client.post(f"/o/{other_org.slug}/space/export/").status_code == 404
    assert client.post(f"/o/{other_org.slug}/space/erase/").status_code == 404
    with tenancy.tenant_context(org):
        known.refresh_from_db()
        assert known.is_active


def test_a_magic_link_of_another_organization_is_refused(
    client: Client,
    org: Organization,
    other_org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks,
    mailoutbox,
) -> None:
    path = request_link(client, org, known.email, django_capture_on_commit_callbacks, mailoutbox)
    foreign = path.replace(f"/o/{org.slug}/", f"/o/{other_org.slug}/")
    assert client.post(foreign).status_code == 400
    # Still usable where it belongs.
    assert client.post(path).status_code == 302
