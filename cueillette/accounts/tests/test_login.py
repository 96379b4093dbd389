from __future__ import annotations

from unittest import mock

import pytest
from django.conf import settings
from django.test import Client

from cueillette.core.tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # the factories' password


@pytest.fixture
def staff_user():
    user = UserFactory(email="lea@example.org", language="en")
    MembershipFactory(organization=OrganizationFactory(), user=user)
    return user


def _login(client: Client, email: str, password: str, **extra):
    return client.post(
        "/accounts/login/",
        {"email": email, "password": password},
        HTTP_ACCEPT_LANGUAGE="en",
        **extra,
    )


def test_login_page_and_success(client: Client, staff_user) -> None:
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'name="email"' in page.content and b'for="id_password"' in page.content
    response = _login(client, "LEA@example.org", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/app/"
    assert client.session["_auth_user_id"] == str(staff_user.pk)
    # The interface speaks the person's language from now on.
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_login_follows_only_safe_next(client: Client, staff_user) -> None:
    ok = client.post(
        "/accounts/login/",
        {"email": "lea@example.org", "password": PASSWORD, "next": "/accounts/switch/"},
    )
    assert ok["Location"] == "/accounts/switch/"
    other = Client()
    evil = other.post(
        "/accounts/login/",
        {"email": "lea@example.org", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert evil["Location"] == "/app/"


def test_wrong_password_is_a_clear_error(client: Client, staff_user) -> None:
    response = _login(client, "lea@example.org", "nope")
    assert response.status_code == 400
    assert b"Email or password is not correct." in response.content
    assert "_auth_user_id" not in client.session


def test_rate_limit_per_account_and_address(client: Client, staff_user, settings) -> None:
    settings.LOGIN_RATE_LIMIT = 3
    settings.LOGIN_RATE_WINDOW = 600
    for _ in range(3):
        assert _login(client, "lea@example.org", "wrong").status_code == 400
    with mock.patch("cueillette.accounts.views.authenticate") as authenticate:
        blocked = _login(client, "lea@example.org", PASSWORD)
        authenticate.assert_not_called()  # the password is not even checked
    assert blocked.status_code == 429
    assert b"Too many attempts: try again in 10 minutes." in blocked.content
    assert int(blocked["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    # The person, from another address, is not locked out by someone else's guesses.
    assert _login(Client(), "lea@example.org", PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 302


def test_guessing_one_account_does_not_lock_others_on_that_address(
    client: Client, staff_user, settings
) -> None:
    settings.LOGIN_RATE_LIMIT = 3
    for n in range(3):
        assert _login(client, f"guess{n}@example.org", "wrong").status_code == 400
    for _ in range(3):
        assert _login(client, "guess0@example.org", "wrong").status_code in (400, 429)
    # Same address (a shared office connection), another account: heard.
    assert _login(client, "lea@example.org", PASSWORD).status_code == 302


def test_success_resets_the_address_counter(client: Client, staff_user, settings) -> None:
    settings.LOGIN_RATE_LIMIT = 3
    for _ in range(2):
        _login(client, "lea@example.org", "wrong", REMOTE_ADDR="10.0.0.1")
    assert _login(client, "lea@example.org", PASSWORD, REMOTE_ADDR="10.0.0.1").status_code == 302
    other = Client()
    for _ in range(2):
        assert _login(other, "lea@example.org", "wrong", REMOTE_ADDR="10.0.0.1").status_code == 400
    # Two new failures only: below the limit again thanks to the reset.
    assert _login(other, "lea@example.org", PASSWORD, REMOTE_ADDR="10.0.0.1").status_code == 302


def test_logout_is_post_only(client_for, staff_user) -> None:
    c = client_for(staff_user)
    assert c.get("/accounts/logout/").status_code == 405
    response = c.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in c.session


def test_sessions_expire(client: Client, staff_user) -> None:
    response = _login(client, "lea@example.org", PASSWORD)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE <= 14 * 24 * 3600
    assert cookie["httponly"]


def test_counter_staff_land_on_the_counter(client: Client) -> None:
    org = OrganizationFactory()
    clerk = UserFactory(email="clerk@example.org")
    MembershipFactory(organization=org, user=clerk, role="counter")
    response = _login(client, "clerk@example.org", PASSWORD)
    assert response["Location"] == "/app/loyalty/"
    assert client.get("/app/loyalty/").status_code == 200
    # Already logged in, the login page leads there too.
    assert client.get("/accounts/login/")["Location"] == "/app/loyalty/"
    manager = UserFactory(email="boss@example.org")
    MembershipFactory(organization=org, user=manager, role="manager")
    assert _login(Client(), "boss@example.org", PASSWORD)["Location"] == "/app/"
