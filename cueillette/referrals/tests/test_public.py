"""The public side of referrals: the member's page, the friend's landing page, "Have a code?"."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import ConsentEvent, Customer, Purpose
from cueillette.loyalty import services as loyalty
from cueillette.referrals import services
from cueillette.referrals.models import Referral, ReferralCode, ReferralProgram

pytestmark = pytest.mark.django_db

STAFF = Actor.system("test")


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def join_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "first_name": "Camille",
        "last_name": "Durand",
        "email": "camille@example.net",
        "phone": "",
        "postal_code": "69003",
        "website": "",
    }
    data.update(overrides)
    return data


def open_space(client: Client, org: Organization, customer: Customer) -> Client:
    session = client.session
    session[f"portal_customer_{org.pk}"] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    session.save()
    client.cookies["cueillette_lang"] = "en"
    return client


@pytest.fixture
def program(org: Organization) -> ReferralProgram:
    with tenancy.tenant_context(org):
        program = services.get_program()
        program.referrer_points = 100
        program.friend_points = 50
        program.save()
        return program


@pytest.fixture
def claire(org: Organization, program: ReferralProgram) -> Customer:
    customer = CustomerFactory(
        organization=org,
        first_name="Claire",
        last_name="Martin",
        email="claire@example.net",
        phone="+33611111111",
    )
    with tenancy.tenant_context(org):
        loyalty.join_program(customer, actor=STAFF)
    return customer


@pytest.fixture
def rc(org: Organization, claire: Customer) -> ReferralCode:
    with tenancy.tenant_context(org):
        return services.code_for(claire)


def landing(org: Organization, value: str) -> str:
    return f"/o/{org.slug}/r/{value}/"


def referrals(org: Organization) -> list[Referral]:
    with tenancy.tenant_context(org):
        return list(Referral.objects.select_related("referrer", "friend").order_by("id"))


def audit_count(org: Organization) -> int:
    with tenancy.tenant_context(org):
        return AuditEvent.objects.count()


def customers(org: Organization) -> int:
    with tenancy.tenant_context(org):
        return Customer.objects.count()


# --------------------------------------------------------------------------- the member's page


def test_share_page_needs_the_space_session(client: Client, org: Organization) -> None:
    for path in ("space/refer/", "space/refer/qr.svg"):
        response = client.get(f"/o/{org.slug}/{path}")
        assert response.status_code == 302
        # The link page, which may bring them back here once the space is open.
        assert response["Location"].startswith(f"/o/{org.slug}/space/link/")


def test_share_page_shows_link_code_qr_and_message(
    client: Client, org: Organization, claire: Customer
) -> None:
    open_space(client, org, claire)
    response = client.get(f"/o/{org.slug}/space/refer/")
    assert response.status_code == 200
    html = response.content.decode()
    with tenancy.tenant_context(org):
        rc = ReferralCode.objects.get(customer=claire)
    link = f"http://testserver/o/{org.slug}/r/{rc.token}/"
    assert rc.token in html and rc.code in html
    assert f'/o/{org.slug}/space/refer/qr.svg"' in html
    assert 'href="mailto:?subject=' in html and 'href="sms:?&amp;body=' in html
    assert "data-share-native" in html and "referrals/share.js" in html
    # The link carries no personal data.
    # The link carries no personal data: its last segment is the random token alone (32 URL-safe
    # characters, 192 bits), and a new code for the same person would be another random token.
    assert landing(org, rc.token).rstrip("/").rsplit("/", 1)[-1] == rc.token
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", rc.token)
    assert claire.first_name.lower() not in rc.code.lower()
    assert "<script>" not in html and 'style="' not in html
    # Both languages of the message are ready.
    assert 'hreflang="fr"' in html and 'hreflang="en"' in html
    assert "No friend has joined" in html
    del link


def test_share_qr_is_an_svg_of_the_link(
    client: Client, org: Organization, claire: Customer, rc: ReferralCode
) -> None:
    open_space(client, org, claire)
    response = client.get(f"/o/{org.slug}/space/refer/qr.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert "no-store" in response["Cache-Control"]


def test_share_page_shows_counts_only_never_who(
    client: Client, org: Organization, claire: Customer
) -> None:
    friend = CustomerFactory(
        organization=org, first_name="Léa", last_name="Bernard", email="lea@example.net"
    )
    with tenancy.tenant_context(org):
        services.record_referral(claire, friend, source="counter", actor=STAFF)
    open_space(client, org, claire)
    html = client.get(f"/o/{org.slug}/space/refer/").content.decode()
    assert "Léa" not in html and "Bernard" not in html and "lea@example.net" not in html
    assert 'data-referral-count="pending" data-count="1"' in html
    assert 'data-referral-count="confirmed" data-count="0"' in html
    assert "data-referral-status" not in html


def test_space_home_and_loyalty_page_link_to_the_share_page(
    client: Client, org: Organization, claire: Customer
) -> None:
    open_space(client, org, claire)
    share = f'href="/o/{org.slug}/space/refer/"'
    assert share in client.get(f"/o/{org.slug}/space/").content.decode()
    assert share in client.get(f"/o/{org.slug}/space/loyalty/").content.decode()


def test_share_page_when_the_program_is_closed(
    client: Client, org: Organization, claire: Customer, program: ReferralProgram
) -> None:
    program.enabled = False
    program.save()
    open_space(client, org, claire)
    response = client.get(f"/o/{org.slug}/space/refer/")
    assert response.status_code == 200
    with tenancy.tenant_context(org):
        assert not ReferralCode.objects.exists()
    assert (
        f'href="/o/{org.slug}/space/refer/"'
        not in client.get(f"/o/{org.slug}/space/").content.decode()
    )


# --------------------------------------------------------------------------- the landing page


@pytest.mark.parametrize("by", ["token", "code"])
def test_visiting_the_link_records_nothing_and_sets_no_cookie(
    client: Client, org: Organization, rc: ReferralCode, by: str
) -> None:
    audit_before = audit_count(org)
    response = client.get(landing(org, getattr(rc, by)))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert not response.cookies
    assert not client.cookies
    html = response.content.decode()
    assert "Claire invites you to" in html or "Claire vous invite" in html or "Claire" in html
    assert "Martin" not in html and "claire@example.net" not in html
    assert 'name="csrfmiddlewaretoken"' not in html
    boxes = [b for b in html.split("<input") if 'type="checkbox"' in b]
    assert len(boxes) == len(Purpose.values) and not any("checked" in b for b in boxes)
    assert 'data-gift="friend"' in html and 'data-gift="referrer"' in html
    assert referrals(org) == []
    assert customers(org) == 1
    assert audit_count(org) == audit_before


def test_landing_says_who_invites_in_english(
    client: Client, org: Organization, rc: ReferralCode
) -> None:
    html = client.get(landing(org, rc.token), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.cookies["cueillette_lang"] = "en"
    html = client.get(landing(org, rc.token)).content.decode()
    assert f"Claire invites you to {org.name}" in html


@pytest.mark.parametrize("by,source", [("token", "link"), ("code", "code")])
def test_joining_from_the_landing_page_records_a_pending_referral(
    client: Client,
    org: Organization,
    claire: Customer,
    rc: ReferralCode,
    by: str,
    source: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(landing(org, getattr(rc, by)), join_data(consent_loyalty="on"))
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/r/{getattr(rc, by)}/thanks/"
    [referral] = referrals(org)
    assert referral.referrer == claire
    assert referral.friend.email == "camille@example.net"
    assert referral.friend.heard_from == "friend"
    assert referral.status == "pending" and referral.source == source
    with tenancy.tenant_context(org):
        # Only what was ticked: the loyalty program (which issued a card).
        purposes = list(
            ConsentEvent.objects.filter(customer=referral.friend).values_list("purpose", flat=True)
        )
        assert purposes == ["loyalty"]
        assert loyalty.open_card_for(referral.friend) is not None
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200


def test_join_page_code_field_records_a_referral(
    client: Client, org: Organization, claire: Customer, rc: ReferralCode
) -> None:
    spoken = rc.code[:4].lower() + "-" + rc.code[4:].lower()
    response = client.post(f"/o/{org.slug}/join/", join_data(referral_code=spoken))
    assert response.status_code == 302
    [referral] = referrals(org)
    assert referral.referrer == claire and referral.source == "code"


def test_join_page_with_an_unknown_code_writes_nothing(
    client: Client, org: Organization, claire: Customer
) -> None:
    client.cookies["cueillette_lang"] = "en"
    response = client.post(f"/o/{org.slug}/join/", join_data(referral_code="ZZZZ-ZZZZ"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "referral_code_error" in html
    assert customers(org) == 1 and referrals(org) == []


def test_join_page_without_code_still_works(client: Client, org: Organization) -> None:
    response = client.post(f"/o/{org.slug}/join/", join_data())
    assert response.status_code == 302
    assert customers(org) == 1 and referrals(org) == []


@pytest.mark.parametrize("value", ["nope", "AAAAAAAA", "x" * 70])
def test_unknown_code_is_a_kind_404_with_the_join_link(
    client: Client, org: Organization, rc: ReferralCode, value: str
) -> None:
    response = client.get(landing(org, value))
    assert response.status_code == 404
    html = response.content.decode()
    assert f'href="/o/{org.slug}/join/"' in html
    assert "data-referral-unknown" in html
    assert "Set-Cookie" not in response.headers
    response = client.post(landing(org, value), join_data())
    assert response.status_code == 404
    assert customers(org) == 1


def test_code_of_another_organization_is_unknown_here(
    client: Client, org: Organization, other_org: Organization, rc: ReferralCode
) -> None:
    assert client.get(landing(other_org, rc.token)).status_code == 404
    assert client.get(landing(other_org, rc.code)).status_code == 404


def test_self_referral_is_refused_with_a_clear_message_and_nothing_written(
    client: Client, org: Organization, claire: Customer, rc: ReferralCode, mailoutbox: Any
) -> None:
    client.cookies["cueillette_lang"] = "en"
    audit_before = audit_count(org)
    # Claire's own phone with a new address: a new record would be created, then refused.
    response = client.post(
        landing(org, rc.token), join_data(email="claire.bis@example.net", phone="06 11 11 11 11")
    )
    assert response.status_code == 400
    assert "This invitation cannot be used with these details" in response.content.decode()
    # Claire's own address: refused too.
    response = client.post(landing(org, rc.token), join_data(email="claire@example.net"))
    assert response.status_code == 400
    assert "This invitation cannot be used with these details" in response.content.decode()
    assert customers(org) == 1 and referrals(org) == []
    assert audit_count(org) == audit_before
    assert mailoutbox == []


def test_an_existing_customer_changes_nothing_and_sees_the_same_page(
    client: Client,
    org: Organization,
    rc: ReferralCode,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: Any,
) -> None:
    CustomerFactory(organization=org, email="known@example.net")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(landing(org, rc.token), join_data(email="known@example.net"))
    assert response.status_code == 302 and response["Location"].endswith("/thanks/")
    assert customers(org) == 2 and referrals(org) == []
    # As on the join page: a link to their space, nothing else.
    [mail] = mailoutbox
    assert mail.to == ["known@example.net"]


def test_a_friend_sharing_a_customer_phone_is_flagged_by_the_service(
    client: Client, org: Organization, rc: ReferralCode
) -> None:
    CustomerFactory(organization=org, email="sister@example.net", phone="+33622222222")
    response = client.post(
        landing(org, rc.token), join_data(email="new@example.net", phone="06 22 22 22 22")
    )
    assert response.status_code == 302
    [referral] = referrals(org)
    assert referral.under_review and "duplicate" in referral.flags


def test_closed_program_landing_is_a_kind_404(
    client: Client, org: Organization, rc: ReferralCode, program: ReferralProgram
) -> None:
    program.enabled = False
    program.save()
    response = client.get(landing(org, rc.token))
    assert response.status_code == 404
    assert f'href="/o/{org.slug}/join/"' in response.content.decode()
    assert client.post(landing(org, rc.token), join_data()).status_code == 404
    assert customers(org) == 1


def test_a_form_posted_from_another_site_is_refused(
    client: Client, org: Organization, rc: ReferralCode
) -> None:
    for headers in (
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_REFERER": "https://evil.example/page"},
    ):
        response = client.post(landing(org, rc.token), join_data(), **headers)
        assert response.status_code == 403, headers
    assert customers(org) == 1
    ok = client.post(
        landing(org, rc.token),
        join_data(),
        HTTP_SEC_FETCH_SITE="same-origin",
        HTTP_ORIGIN="http://testserver",
    )
    assert ok.status_code == 302


def test_honeypot_and_rate_limit(
    client: Client, org: Organization, rc: ReferralCode, settings: Any
) -> None:
    response = client.post(landing(org, rc.token), join_data(website="http://spam"))
    assert response.status_code == 302
    assert customers(org) == 1
    from cueillette.public import views as public_views

    limit = public_views.RATE_LIMIT
    for i in range(limit):
        client.post(landing(org, rc.token), join_data(email="", first_name=f"x{i}"))
    assert client.post(landing(org, rc.token), join_data()).status_code == 429


def test_join_page_shows_the_code_field_only_when_referrals_are_open(
    client: Client, org: Organization, program: ReferralProgram
) -> None:
    assert 'name="referral_code"' in client.get(f"/o/{org.slug}/join/").content.decode()
    program.enabled = False
    program.save()
    assert 'name="referral_code"' not in client.get(f"/o/{org.slug}/join/").content.decode()


def test_a_visit_does_not_even_create_the_program_row(
    client: Client, org: Organization, rc: ReferralCode
) -> None:
    with tenancy.tenant_context(org):
        ReferralProgram.objects.all().delete()
    assert client.get(landing(org, rc.token)).status_code == 200
    assert client.get(landing(org, rc.token) + "thanks/").status_code == 200
    with tenancy.tenant_context(org):
        assert not ReferralProgram.objects.exists()


def test_share_page_says_how_to_receive_points_without_a_card(
    client: Client, org: Organization, program: ReferralProgram
) -> None:
    paul = CustomerFactory(organization=org, first_name="Paul")
    open_space(client, org, paul)
    html = client.get(f"/o/{org.slug}/space/refer/").content.decode()
    assert "data-referral-no-card" in html and f'href="/o/{org.slug}/space/loyalty/"' in html
