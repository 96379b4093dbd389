"""The member's card and wallet in a real browser: offline QR, accessibility."""

from __future__ import annotations

import time
from typing import Any

import pytest

from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.loyalty import rules, services
from cueillette.loyalty.models import Card, Reward, Tier
from cueillette.loyalty.tests.test_wallet import STAFF, wallet_path

# --------------------------------------------------------------------------- in a real browser


@pytest.fixture
def browser_member(transactional_db: None) -> tuple[Organization, Card]:
    from cueillette.core.tests.factories import OrganizationFactory

    org = OrganizationFactory(name="Fromagerie Alpage", slug="fromagerie-alpage")
    customer = CustomerFactory(organization=org, first_name="Lina", last_name="Moreau")
    with tenancy.tenant_context(org):
        Tier.objects.create(code="silver", name="Silver", threshold=20)
        Tier.objects.create(code="gold", name="Gold", threshold=100, benefits="Free delivery")
        Reward.objects.create(name="Comté 100 g", cost=20, description="Aged 18 months")
        card = services.join_program(customer, actor=STAFF)
        services.record_purchase(card, amount="23.00", actor=STAFF, receipt_id="B-1")
        card.refresh_from_db()
    return org, card


def _space_cookie(base_url: str, org: Organization, card: Card) -> dict[str, str]:
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[f"portal_customer_{org.pk}"] = {
        "customer": card.customer_id,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    store.create()
    return {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key or "", "url": base_url}


@pytest.mark.browser
def test_member_pages_in_a_browser_and_the_wallet_offline(
    site: Any,
    browser_member: tuple[Organization, Card],
    tmp_path: Any,
) -> None:
    from tests.browser.conftest import PHONE, axe_audit

    org, card = browser_member
    number = rules.format_card_number(card.number)
    context = site.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_cookies([_space_cookie(site.url, org, card)])
    page = context.new_page()

    # The space: the card, why this tier, history; accessible.
    page.goto(site(f"/o/{org.slug}/space/loyalty/"))
    assert number in page.inner_text(".lcard")
    assert page.locator(".lcard .qr").is_visible()
    assert axe_audit(page) == []
    page.screenshot(path=str(tmp_path / "member.png"), full_page=True)
    page.goto(site(f"/o/{org.slug}/space/loyalty/card/"))
    assert page.locator("[data-print]").is_visible()
    page.screenshot(path=str(tmp_path / "print.png"))
    assert axe_audit(page) == []

    # The wallet: no session needed; after the first visit it opens offline.
    wallet = context.new_page()
    context.clear_cookies()
    wallet.goto(site(wallet_path(org, card)))
    assert axe_audit(wallet) == []
    # Wait until the service worker controls the page (a promise: no polling eval under CSP).
    assert wallet.evaluate(
        """() => new Promise((resolve) => {
            if (navigator.serviceWorker.controller) { resolve(true); return; }
            navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true));
        })"""
    )
    wallet.screenshot(path=str(tmp_path / "wallet.png"), full_page=True)
    context.set_offline(True)
    wallet.reload()
    assert number in wallet.inner_text(".wallet__number")
    assert wallet.locator(".wallet__qr svg").is_visible()
    wallet.wait_for_selector("#wallet-offline:not([hidden])")
    context.set_offline(False)
