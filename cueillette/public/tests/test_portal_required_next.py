"""A closed space sends the visitor to the link page with ``next`` = the page they asked for
(a page of this organization only), so that the emailed link brings them back to it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer
from cueillette.public.tests.conftest import link_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(org: Organization) -> Customer:
    return CustomerFactory(organization=org, email="maurice@example.net")


def test_a_closed_space_page_leads_to_the_link_page_with_next(
    client: Client,
    org: Organization,
    known: Customer,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    wanted = f"/o/{org.slug}/space/refer/"
    response = client.get(wanted)
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/space/link/?next={wanted}"
    page = client.get(response["Location"]).content.decode()
    assert f'name="next" value="{wanted}"' in page
    # The emailed link carries it, and opening the space lands on the page asked for.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/o/{org.slug}/space/link/",
            {"email": known.email, "website": "", "next": wanted},
        )
    path = link_in(mailoutbox[-1].body, "space/open")
    opened = client.post(path.split("?", 1)[0], {"next": wanted})
    assert opened.status_code == 302 and opened["Location"] == wanted


def test_the_query_string_rides_along_and_the_home_needs_no_next(
    client: Client, org: Organization
) -> None:
    response = client.get(f"/o/{org.slug}/space/loyalty/?page=2")
    assert response["Location"] == (
        f"/o/{org.slug}/space/link/?next=/o/{org.slug}/space/loyalty/%3Fpage%3D2"
    )
    assert client.get(f"/o/{org.slug}/space/")["Location"] == f"/o/{org.slug}/space/link/"


def test_a_form_post_to_a_closed_space_carries_no_next(client: Client, org: Organization) -> None:
    response = client.post(f"/o/{org.slug}/space/edit/", {"first_name": "X"})
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/space/link/"


def test_an_unsafe_path_is_never_carried(client: Client, org: Organization) -> None:
    # A path safe_next refuses (longer than it accepts) sends to the bare link page.
    response = client.get(f"/o/{org.slug}/space/loyalty/?x=" + "a" * 3000)
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/space/link/"
