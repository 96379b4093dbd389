from __future__ import annotations

import time
from unittest import mock

import pytest
from django.test import Client

from cueillette.accounts import services
from cueillette.accounts.models import Membership, Role, User
from cueillette.accounts.tests.conftest import link_in
from cueillette.core.middleware import SESSION_ORG_KEY
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from cueillette.customers.models import ConsentWording

pytestmark = pytest.mark.django_db

SIGNUP = {
    "full_name": "Camille Martin",
    "email": "Camille@Example.org",
    "password": "un mot de passe solide",
    "org_name": "Atelier Camille",
    "slug": "atelier-camille",
    "language": "fr",
    "timezone": "Europe/Paris",
    "currency": "EUR",
}


def _signup(client: Client, capture, **changes: str):
    with capture(execute=True):
        return client.post("/accounts/signup/", {**SIGNUP, **changes})


def test_signup_page_shows_both_parts_to_a_newcomer(client: Client) -> None:
    page = client.get("/accounts/signup/").content.decode()
    assert 'name="full_name"' in page and 'name="password"' in page
    assert 'name="org_name"' in page and 'name="slug"' in page
    assert "accounts/signup.js" in page
    assert 'name="timezone" value="Europe/Paris"' in page and 'list="timezone-options"' in page
    assert '<option value="EUR" selected>' in page
    assert "<script>" not in page and "style=" not in page


def test_signup_creates_org_owner_wordings_and_sends_confirmation(
    client: Client, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    response = _signup(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == "/app/"

    user = User.objects.get(email="camille@example.org")
    assert user.full_name == "Camille Martin"
    assert user.email_confirmed_at is None
    org = Organization.objects.get(slug="atelier-camille")
    assert (org.name, org.language, org.timezone, org.currency) == (
        "Atelier Camille",
        "fr",
        "Europe/Paris",
        "EUR",
    )
    membership = Membership.objects.unscoped().get(organization=org)
    assert membership.user == user and membership.role == Role.OWNER
    assert ConsentWording.objects.unscoped().filter(organization=org).count() > 0
    assert (
        AuditEvent.objects.unscoped()
        .filter(organization=org, action="organization.created")
        .exists()
    )
    # Logged in, working in the new organization.
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session[SESSION_ORG_KEY] == org.pk

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["camille@example.org"]
    assert "/accounts/confirm-email/" in mail.body
    assert "Confirm" in mail.subject or "Confirmez" in mail.subject or "confirm" in mail.subject


def test_confirmation_email_speaks_english_when_chosen(
    client: Client, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    _signup(client, django_capture_on_commit_callbacks, language="en")
    assert User.objects.get(email="camille@example.org").language == "en"
    assert mailoutbox[0].subject == "Confirm your email address for Cueillette"


def test_confirm_by_post_only_and_link_reuse_is_clear(
    client: Client, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    _signup(client, django_capture_on_commit_callbacks)
    path = link_in(mailoutbox[0].body, "/accounts/confirm-email/")
    anonymous = Client()  # the link may be opened in another browser

    # GET (a mail scanner, a preview) shows a button and confirms nothing.
    page = anonymous.get(path)
    assert page.status_code == 200
    assert b'method="post"' in page.content
    assert User.objects.get(email="camille@example.org").email_confirmed_at is None

    done = anonymous.post(path)
    assert done.status_code == 200
    assert User.objects.get(email="camille@example.org").email_confirmed_at is not None

    again = anonymous.post(path)
    assert again.status_code == 200
    assert b"already" in again.content or "déjà".encode() in again.content
    again_get = anonymous.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert b"already confirmed" in again_get.content


def test_expired_and_forged_confirmation_links(client: Client) -> None:
    user = UserFactory(language="en")
    with mock.patch("time.time", return_value=time.time() - 4 * 24 * 3600):
        old = services.email_confirmation_token(user)
    response = client.get(f"/accounts/confirm-email/{old}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    assert b"this link has expired" in response.content.lower()
    assert client.post(f"/accounts/confirm-email/{old}/").status_code == 410
    user.refresh_from_db()
    assert user.email_confirmed_at is None

    forged = client.get("/accounts/confirm-email/1.abc:xyz:nope/", HTTP_ACCEPT_LANGUAGE="en")
    assert forged.status_code == 400
    assert b"not valid" in forged.content


def test_confirmation_link_dies_when_email_changes(client: Client) -> None:
    user = UserFactory()
    token = services.email_confirmation_token(user)
    User.objects.filter(pk=user.pk).update(email="new@example.org")
    assert client.post(f"/accounts/confirm-email/{token}/").status_code == 400


def test_banner_until_confirmed(client_for, django_capture_on_commit_callbacks, mailoutbox) -> None:
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    user = UserFactory()
    request = RequestFactory().get("/app/")
    request.user = user
    html = render_to_string("accounts/_confirm_banner.html", {"user": user}, request=request)
    assert "accounts/confirm-email/resend/" in html
    c = client_for(user)
    with django_capture_on_commit_callbacks(execute=True):
        c.post("/accounts/confirm-email/resend/")
    assert len(mailoutbox) == 1
    user.email_confirmed_at = user.date_joined
    html = render_to_string("accounts/_confirm_banner.html", {"user": user}, request=request)
    assert html.strip() == ""


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("A", "public address"),
        ("-bad-", "public address"),
        ("admin", "public address is already taken"),
        ("taken-one", "public address is already taken"),
    ],
)
def test_slug_errors_name_the_field(client: Client, slug: str, message: str) -> None:
    OrganizationFactory(slug="taken-one")
    response = client.post("/accounts/signup/", {**SIGNUP, "slug": slug}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    page = response.content.decode()
    assert message.capitalize() in page
    assert 'id="id_slug_error"' in page
    assert 'aria-invalid="true"' in page
    assert not User.objects.filter(email="camille@example.org").exists()  # nothing half-written


def test_signup_person_errors_name_the_field(client: Client) -> None:
    UserFactory(email="used@example.org")
    response = client.post(
        "/accounts/signup/",
        {**SIGNUP, "email": "used@example.org"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "Email is already used" in response.content.decode()
    response = client.post(
        "/accounts/signup/", {**SIGNUP, "password": "short"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert 'id="id_password_error"' in response.content.decode()
    assert not Organization.objects.filter(slug="atelier-camille").exists()


def test_every_error_names_its_field(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"org_name": "", "slug": "ok-slug", "email": "camille.example.org", "password": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    page = response.content.decode()
    assert "Your full name is required" in page
    assert "Password is required" in page
    assert "Name of the business is required" in page
    assert "Language: choose one of the list" in page or "Language is required" in page
    # The form is only a parser; the email is judged once every field parses.
    response = client.post(
        "/accounts/signup/", {**SIGNUP, "email": "camille.example.org"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Email is not valid: missing @" in response.content.decode()
    assert response.content.decode().count('class="form-errors"') == 1


def test_logged_in_person_opens_another_business(client_for) -> None:
    user = UserFactory()
    first = OrganizationFactory()
    MembershipFactory(organization=first, user=user, role=Role.COUNTER)
    c = client_for(user)
    page = c.get("/accounts/signup/").content.decode()
    assert 'name="org_name"' in page
    assert 'name="password"' not in page and 'name="full_name"' not in page
    response = c.post(
        "/accounts/signup/",
        {
            "org_name": "Deuxième boutique",
            "slug": "deuxieme",
            "language": "en",
            "timezone": "America/Montreal",
            "currency": "CAD",
        },
    )
    assert response.status_code == 302
    org = Organization.objects.get(slug="deuxieme")
    assert Membership.objects.unscoped().get(organization=org, user=user).role == Role.OWNER
    assert c.session[SESSION_ORG_KEY] == org.pk
    # The first membership is untouched.
    assert Membership.objects.unscoped().get(organization=first, user=user).role == Role.COUNTER


def test_no_organization_page(client_for) -> None:
    user = UserFactory()
    c = client_for(user)
    response = c.get("/accounts/no-business/")
    assert response.status_code == 200
    assert b"/accounts/signup/" in response.content
    assert c.get("/accounts/switch/")["Location"] == "/accounts/no-business/"


def test_time_zone_offers_the_likely_zones_first(client) -> None:
    page = client.get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.8").content.decode()
    options = page.split('<datalist id="timezone-options">', 1)[1].split("</datalist>", 1)[0]
    zones = [part.split('"', 1)[0] for part in options.split('<option value="')[1:]]
    canadian = {"America/Toronto", "America/Vancouver", "America/Halifax"}
    assert canadian <= set(zones[:30])  # Canada's zones come first ...
    assert zones.index("America/Toronto") < zones.index("Africa/Abidjan")  # ... then A-Z
    assert len(zones) == len(set(zones)) > 300  # and every other zone, once
    assert 'name="timezone" value="America/' in page  # a Canadian zone by default
    france = client.get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    first = france.split('<datalist id="timezone-options">', 1)[1].split('"')[1]
    assert first == "Europe/Paris"
    assert "Indian/Reunion" in france  # overseas France is likely too


def test_a_zone_outside_the_list_is_refused(owner_client) -> None:
    response = owner_client.post(
        "/accounts/settings/",
        {
            "name": "Cabinet",
            "language": "fr",
            "timezone": "Mars/Olympus",
            "currency": "EUR",
            "retention_days": "1095",
        },
    )
    assert response.status_code == 400
    assert 'id="id_timezone_error"' in response.content.decode()
