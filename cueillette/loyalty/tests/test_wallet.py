"""The phone wallet: a signed link without session, its manifest and its service worker."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.contrib.staticfiles import finders
from django.core import signing
from django.test import Client

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer
from cueillette.loyalty import portal, rules, services
from cueillette.loyalty.models import Card

pytestmark = pytest.mark.django_db

STAFF = Actor.system("test")


@pytest.fixture
def card(org: Organization) -> Card:
    customer = CustomerFactory(organization=org, first_name="Lina", last_name="Moreau")
    with tenancy.tenant_context(org):
        card = services.join_program(customer, actor=STAFF)
        services.record_purchase(card, amount="23.00", actor=STAFF, receipt_id="W-1")
        card.refresh_from_db()
    return card


def wallet_path(org: Organization, card: Card) -> str:
    with tenancy.tenant_context(org):
        return f"/o/{org.slug}/wallet/{portal.wallet_token(card)}/"


def test_wallet_link_is_shown_in_the_space(client: Client, org: Organization, card: Card) -> None:
    session = client.session
    session[f"portal_customer_{org.pk}"] = {
        "customer": card.customer_id,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    session.save()
    html = client.get(f"/o/{org.slug}/space/loyalty/?lang=en").content.decode()
    assert "http://testserver" + wallet_path(org, card) in html
    assert "Add to Home Screen" in html


def test_wallet_works_without_a_session(org: Organization, card: Card) -> None:
    client = Client()  # a fresh browser: no cookie at all
    response = client.get(wallet_path(org, card) + "?lang=en")
    assert response.status_code == 200
    html = response.content.decode()
    assert rules.format_card_number(card.number) in html
    assert 'class="qr"' in html and "<svg" in html
    assert "Lina Moreau" in html
    assert "<strong>23</strong>" in html and "Balance as of" in html
    assert f'rel="manifest" href="{wallet_path(org, card)}manifest.webmanifest"' in html
    assert f'data-sw="{wallet_path(org, card)}sw.js"' in html
    # CSP: scripts only from files, no inline style.
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "style=" not in html
    assert "sessionid" not in response.cookies
    assert "private" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_card_has_one_wallet_address_and_older_timestamped_links_still_open(
    client: Client, org: Organization, card: Card
) -> None:
    first = wallet_path(org, card)
    time.sleep(1.1)  # a timestamped token would differ by now
    assert wallet_path(org, card) == first
    legacy = signing.dumps({"o": org.pk, "c": card.pk}, salt=portal.WALLET_SALT)
    assert legacy.count(":") == 2
    assert client.get(f"/o/{org.slug}/wallet/{legacy}/?lang=en").status_code == 200
    forged = legacy[:-3] + ("abc" if not legacy.endswith("abc") else "xyz")
    assert client.get(f"/o/{org.slug}/wallet/{forged}/").status_code == 404
    assert client.get(f"/o/{org.slug}/wallet/a:b:c/").status_code == 404


def test_tampered_or_foreign_tokens_are_404(
    client: Client, org: Organization, other_org: Organization, card: Card
) -> None:
    path = wallet_path(org, card)
    token = path.rstrip("/").rsplit("/", 1)[-1]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/o/{org.slug}/wallet/{tampered}/").status_code == 404
    assert client.get(f"/o/{org.slug}/wallet/not-a-token/").status_code == 404
    assert client.get(f"/o/{org.slug}/wallet/{tampered}/manifest.webmanifest").status_code == 404
    assert client.get(f"/o/{org.slug}/wallet/{tampered}/sw.js").status_code == 404
    # A real token of this organization, at another organization's address: 404.
    assert client.get(f"/o/{other_org.slug}/wallet/{token}/").status_code == 404
    # A token signed for another organization's card does not open this one's.
    stranger = CustomerFactory(organization=other_org)
    with tenancy.tenant_context(other_org):
        foreign = services.join_program(stranger, actor=STAFF)
        foreign_token = portal.wallet_token(foreign)
    assert client.get(f"/o/{org.slug}/wallet/{foreign_token}/").status_code == 404


def test_closed_card_gets_a_clear_410_page(client: Client, org: Organization, card: Card) -> None:
    path = wallet_path(org, card)
    with tenancy.tenant_context(org):
        services.leave_program(card, actor=STAFF)
    response = client.get(path + "?lang=en")
    assert response.status_code == 410
    html = response.content.decode()
    assert "This card is closed" in html
    assert rules.format_card_number(card.number) not in html
    assert client.get(path + "manifest.webmanifest").status_code == 410


def test_manifest(client: Client, org: Organization, card: Card) -> None:
    path = wallet_path(org, card)
    response = client.get(path + "manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(response.content)
    assert manifest["start_url"] == path and manifest["scope"] == path
    assert manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert icon["src"].startswith("/static/loyalty/wallet/")
        assert finders.find(icon["src"].removeprefix("/static/")), icon["src"]


def test_service_worker(client: Client, org: Organization, card: Card) -> None:
    path = wallet_path(org, card)
    response = client.get(path + "sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == path
    body = response.content.decode()
    assert body.startswith("const WALLET_ASSETS = [")
    assert (
        "/static/loyalty/wallet/wallet.css" in body and "/static/loyalty/wallet/wallet.js" in body
    )
    assert 'addEventListener("fetch"' in body
    for asset in json.loads(body.split("=", 1)[1].split(";\n", 1)[0]):
        assert finders.find(asset.removeprefix("/static/")), asset


def test_erased_customer_wallet_is_closed(org: Organization, card: Card) -> None:
    from cueillette.customers import portal as customer_portal

    path = wallet_path(org, card)
    with tenancy.tenant_context(org):
        customer = Customer.objects.get(pk=card.customer_id)
        customer_portal.erase_customer(customer, actor=STAFF, reason="staff")
    assert Client().get(path).status_code == 410
