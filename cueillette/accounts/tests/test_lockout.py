"""No one can lock other people out: the attack of issue 10 (item 7), behind a reverse proxy.

Behind nginx every request arrives from the proxy's address; the client's is the last entry of
``X-Forwarded-For``. Keyed on the connecting address, one visitor's wrong passwords locked every
staff member out and one visitor's join forms closed every business's join page.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.test import Client, RequestFactory

from cueillette.accounts.ratelimit import client_ip
from cueillette.core.tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # the factories' password
PROXY = "10.0.0.2"  # nginx, as docs/deploy.md sets it up
ATTACKER = "203.0.113.66"


def _via_proxy(client: Client, path: str, data: dict[str, str], client_address: str):
    return client.post(
        path,
        data,
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_address,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def _login(client: Client, email: str, password: str, client_address: str):
    return _via_proxy(
        client, "/accounts/login/", {"email": email, "password": password}, client_address
    )


@pytest.fixture
def team():
    org = OrganizationFactory()
    lea = UserFactory(email="lea@example.org", language="en")
    marc = UserFactory(email="marc@example.org", language="en")
    MembershipFactory(organization=org, user=lea, role="counter")
    MembershipFactory(organization=org, user=marc, role="manager")
    return org, lea, marc


def test_the_attack_behind_a_proxy_fails(settings, team) -> None:
    settings.TRUSTED_PROXIES = "1"
    settings.LOGIN_RATE_LIMIT = 5
    settings.LOGIN_SLOWDOWN_AFTER = 5
    attacker = Client()
    # Forty wrong passwords on each account, from one client.
    for email in ("lea@example.org", "marc@example.org"):
        for _ in range(40):
            assert _login(attacker, email, "wrong", ATTACKER).status_code in (400, 429)
    # The attacker's own address is refused, even with the right password (not even checked).
    with mock.patch("cueillette.accounts.views.authenticate") as authenticate:
        assert _login(attacker, "lea@example.org", PASSWORD, ATTACKER).status_code == 429
        authenticate.assert_not_called()
    # Every staff member, from their own address behind the same proxy, still logs in.
    assert _login(Client(), "lea@example.org", PASSWORD, "198.51.100.7").status_code == 302
    assert _login(Client(), "marc@example.org", PASSWORD, "198.51.100.8").status_code == 302


def test_many_addresses_on_one_account_are_slowed_not_locking(settings, team) -> None:
    settings.TRUSTED_PROXIES = "1"
    settings.LOGIN_RATE_LIMIT = 5
    settings.LOGIN_SLOWDOWN_AFTER = 3
    settings.LOGIN_SLOWDOWN_MAX = 30
    bots = Client()
    for n in range(30):
        _login(bots, "lea@example.org", "wrong", f"192.0.2.{n + 1}")
    # A bot address that already failed now waits before its next try (a slow-down) ...
    slowed = _login(bots, "lea@example.org", "wrong", "192.0.2.30")
    assert slowed.status_code == 429 and 0 < int(slowed["Retry-After"]) <= 30
    assert b"Too many attempts: try again in" in slowed.content and b"seconds" in slowed.content
    # ... while the person, from an address that has not failed, is heard at once.
    assert _login(Client(), "lea@example.org", PASSWORD, "198.51.100.7").status_code == 302


def test_public_forms_limit_one_client_not_everyone(settings, team, monkeypatch) -> None:
    settings.TRUSTED_PROXIES = "1"
    monkeypatch.setattr("cueillette.public.views.RATE_LIMIT", 3)
    org = team[0]
    link = f"/o/{org.slug}/space/link/"
    attacker = Client()
    for _ in range(3):
        assert _via_proxy(attacker, link, {"email": "x@example.org"}, ATTACKER).status_code == 200
    assert _via_proxy(attacker, link, {"email": "x@example.org"}, ATTACKER).status_code == 429
    # Another visitor behind the same proxy still gets their magic link.
    other = _via_proxy(Client(), link, {"email": "y@example.org"}, "198.51.100.7")
    assert other.status_code == 200


def test_a_spoofed_header_is_ignored_without_a_trusted_proxy(settings, team) -> None:
    settings.TRUSTED_PROXIES = ""
    settings.LOGIN_RATE_LIMIT = 3
    guesser = Client()
    for n in range(3):
        response = guesser.post(
            "/accounts/login/",
            {"email": "lea@example.org", "password": "wrong"},
            REMOTE_ADDR="203.0.113.5",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
        assert response.status_code == 400
    # A new made-up X-Forwarded-For does not buy a new counter.
    again = guesser.post(
        "/accounts/login/",
        {"email": "lea@example.org", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.5",
        HTTP_X_FORWARDED_FOR="198.51.100.99",
    )
    assert again.status_code == 429


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ("", "10.0.0.2", "203.0.113.1", "10.0.0.2"),  # no proxy configured: header ignored
        ("1", "10.0.0.2", "203.0.113.1", "203.0.113.1"),
        ("1", "10.0.0.2", "6.6.6.6, 203.0.113.1", "203.0.113.1"),  # left part: the client's
        ("2", "10.0.0.2", "6.6.6.6, 203.0.113.1, 10.0.0.9", "203.0.113.1"),
        ("1", "10.0.0.2", "", "10.0.0.2"),  # header missing
        ("10.0.0.0/8", "10.0.0.2", "6.6.6.6, 203.0.113.1, 10.1.2.3", "203.0.113.1"),
        ("10.0.0.0/8", "203.0.113.9", "6.6.6.6", "203.0.113.9"),  # not from our proxy
        ("127.0.0.1, ::1", "::1", "2001:db8::1", "2001:db8::1"),
        ("1", "10.0.0.2", "garbage, 203.0.113.1", "203.0.113.1"),
        ("1", "10.0.0.2", "203.0.113.1:4711", "203.0.113.1"),
    ],
)
def test_client_ip_reads_the_chain_from_the_right(
    settings, trusted: str, remote: str, forwarded: str, expected: str
) -> None:
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
