from __future__ import annotations

import pytest
from django.test import Client

from cueillette.accounts.tests.conftest import link_in
from cueillette.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_password_reset_by_email(
    client: Client, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    user = UserFactory(email="sam@example.org", language="en")
    page = client.get("/accounts/password-reset/")
    assert page.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password-reset/", {"email": "sam@example.org"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert client.get(response["Location"]).status_code == 200
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["sam@example.org"]
    assert mail.subject == "Choose a new password for Cueillette"
    path = link_in(mail.body, "/accounts/password-reset/")

    # Django redirects the token link to a token-free address, then shows the form.
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    assert b'name="new_password1"' in form_page.content
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url,
        {"new_password1": "un tout nouveau secret", "new_password2": "un tout nouveau secret"},
    )
    assert done["Location"] == "/accounts/password-reset/done/"
    assert client.get(done["Location"]).status_code == 200
    user.refresh_from_db()
    assert user.check_password("un tout nouveau secret")

    # Single use.
    reused = Client().get(path, follow=True)
    assert b'name="new_password1"' not in reused.content
    # And the new password logs in.
    login = Client().post(
        "/accounts/login/", {"email": "sam@example.org", "password": "un tout nouveau secret"}
    )
    assert login.status_code == 302


def test_unknown_email_reveals_nothing(
    client: Client, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password-reset/", {"email": "nobody@example.org"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mailoutbox == []


def test_reset_requests_are_rate_limited(client: Client, settings, mailoutbox) -> None:
    settings.LOGIN_RATE_LIMIT = 2
    UserFactory(email="sam@example.org")
    for _ in range(2):
        assert (
            client.post("/accounts/password-reset/", {"email": "sam@example.org"}).status_code
            == 302
        )
    blocked = client.post(
        "/accounts/password-reset/", {"email": "sam@example.org"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert blocked.status_code == 429
    assert b"Too many attempts" in blocked.content
