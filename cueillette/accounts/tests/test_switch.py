from __future__ import annotations

import pytest

from cueillette.accounts.models import Role
from cueillette.core.tests.factories import (
    CustomerFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_switch_between_two_organizations(client_for) -> None:
    # Every name on these pages is fixed and distinctive: the test asserts some are absent, and
    # a generated name (Faker has "Alphonsequartz") would make it fail by chance.
    person = UserFactory(full_name="Quentin Témoinsuisse")
    shop = OrganizationFactory(name="Boutique Alpha", slug="alpha")
    studio = OrganizationFactory(name="Studio Beta", slug="beta")
    MembershipFactory(organization=shop, user=person, role=Role.OWNER)
    MembershipFactory(organization=studio, user=person, role=Role.COUNTER)
    CustomerFactory(organization=shop, first_name="Ysolde", last_name="Alphonsequartz")
    CustomerFactory(organization=studio, first_name="Wendeline", last_name="Bettencourtzinc")
    foreign = OrganizationFactory(name="Pas à moi", slug="foreign")
    CustomerFactory(organization=foreign, first_name="Xavière", last_name="Etrangerplomb")

    c = client_for(person)
    page = c.get("/accounts/switch/").content.decode()
    assert "Boutique Alpha" in page and "Studio Beta" in page
    assert "Pas à moi" not in page

    c.post("/accounts/switch/", {"organization": shop.pk})
    listing = c.get("/app/customers/").content.decode()
    assert "Alphonsequartz" in listing and "Bettencourtzinc" not in listing
    assert c.get("/accounts/settings/").status_code == 200  # owner here

    response = c.post("/accounts/switch/", {"organization": studio.pk})
    assert response.status_code == 302
    listing = c.get("/app/customers/").content.decode()
    assert "Bettencourtzinc" in listing and "Alphonsequartz" not in listing
    assert c.get("/accounts/settings/").status_code == 403  # counter there

    # Not a member: 404, and the session keeps the current organization.
    assert c.post("/accounts/switch/", {"organization": foreign.pk}).status_code == 404
    assert c.post("/accounts/switch/", {"organization": "abc"}).status_code == 404
    assert c.session["cueillette_org_id"] == studio.pk
    listing = c.get("/app/customers/").content.decode()
    assert "Etrangerplomb" not in listing
