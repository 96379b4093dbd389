"""The magic link may lead back to a page of the same organization (``next``), never elsewhere;
the erase page says what happens to community posts."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import portal
from cueillette.customers.models import Customer
from cueillette.public.tests.conftest import link_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(org: Organization) -> Customer:
    return CustomerFactory(organization=org, email="aicha@example.net")


def ask(client: Client, org: Organization, capture: Any, outbox: list[Any], next_value: str) -> str:
    """Ask for a link with ``next`` in the form; the emailed path (with its query)."""
    with capture(execute=True):
        response = client.post(
            f"/o/{org.slug}/space/link/",
            {"email": "aicha@example.net", "website": "", "next": next_value},
        )
    assert response.status_code == 200
    return link_in(outbox[-1].body, "space/open")


@pytest.mark.parametrize(
    "next_value",
    ["/o/{slug}/community/12/", "/o/{slug}/community/", "/o/{slug}/space/edit/"],
)
def test_same_organization_path_is_carried_to_the_space(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
    next_value: str,
) -> None:
    target = next_value.format(slug=org.slug)
    path = ask(client, org, django_capture_on_commit_callbacks, mailoutbox, target)
    assert path.endswith("?next=" + quote(target, safe=""))
    # GET shows the button with ``next`` in its form; the POST goes there.
    page = client.get(path).content.decode()
    assert f'name="next" value="{target}"' in page
    response = client.post(path.split("?", 1)[0], {"next": target})
    assert response.status_code == 302
    assert response["Location"] == target
    assert client.get(f"/o/{org.slug}/space/").status_code == 200  # the space is open


BAD = [
    "/o/{other}/community/12/",  # another organization
    "https://evil.example/o/{slug}/",
    "http://testserver/o/{slug}/",
    "//evil.example/o/{slug}/",
    "/\\evil.example/",
    "/o/{slug}\\..\\evil",
    "\\\\evil.example\\o\\{slug}\\",
    "/o/{slug}/../../evil/",
    "/o/{slug}/%2e%2e/{other}/community/12/",  # percent-encoded dot segments
    "/o/{slug}/%2E%2E/%2e%2E/",
    "javascript:alert(1)",
    "/o/{slug}",  # not under the organization's pages
    "/o/{slug}-other/",
    "/o/{slug}/\nSet-Cookie: x=1",
    "",
]


@pytest.mark.parametrize("bad", BAD)
def test_other_targets_are_ignored(
    client: Client,
    org: Organization,
    other_org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
    bad: str,
) -> None:
    value = bad.format(slug=org.slug, other=other_org.slug)
    with tenancy.tenant_context(org):
        assert portal.safe_next(org.slug, value) == ""
    # Not in the request page's form, nor in the email.
    page = client.get(f"/o/{org.slug}/space/link/", {"next": value}).content.decode()
    assert 'name="next"' not in page
    path = ask(client, org, django_capture_on_commit_callbacks, mailoutbox, value)
    assert "next" not in path
    # Even put by hand on the link or in the button's form: the space's home.
    token_path = path.split("?", 1)[0]
    page = client.get(token_path, {"next": value}).content.decode()
    assert 'name="next"' not in page
    response = client.post(f"{token_path}?next={quote(value, safe='')}", {"next": value})
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/space/"


def test_link_without_next_opens_the_space_home(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/o/{org.slug}/space/link/", {"email": known.email, "website": ""})
    path = link_in(mailoutbox[-1].body, "space/open")
    assert "?" not in path
    assert 'name="next"' not in client.get(path).content.decode()
    response = client.post(path)
    assert response["Location"] == f"/o/{org.slug}/space/"


def test_send_portal_link_checks_next_itself(
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    with tenancy.tenant_context(org), django_capture_on_commit_callbacks(execute=True):
        portal.send_portal_link(known, next_path="//evil.example/")
        portal.send_portal_link(known, next_path=f"/o/{org.slug}/community/")
    assert "next=" not in mailoutbox[0].body
    assert f"?next=%2Fo%2F{org.slug}%2Fcommunity%2F" in mailoutbox[1].body


def test_erase_page_says_community_posts_stay_anonymous(client: Client, org: Organization) -> None:
    customer = CustomerFactory(organization=org)
    session = client.session
    session[f"portal_customer_{org.pk}"] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    session.save()
    html = client.get(f"/o/{org.slug}/space/erase/", {"lang": "en"}).content.decode()
    assert "Your posts on the community page also stay public" in html
    assert "Anonymous" in html
