"""A campaign with restraint: the owner builds a segment, sees who is excluded and why, sends;
a customer leaves from the email's link on their phone; the ledger and the audience count
show it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import ConsentEvent
from cueillette.messaging.models import Campaign, PressureSettings, Segment
from cueillette.messaging.tests.conftest import consent

from .conftest import PHONE, Site, axe_audit, login, text_body, visit, wait_mail_to

pytestmark = pytest.mark.browser

LEAVING = "lea.dumas@example.net"


def test_owner_sends_a_campaign_and_a_customer_leaves_in_one_click(
    site: Site, smtp_server: Any, boss: Any
) -> None:
    org = boss.org
    with tenancy.tenant_context(org):
        # Quiet hours off: the journey must not depend on the hour the suite runs at.
        PressureSettings.objects.create(quiet_start=dt.time(0), quiet_end=dt.time(0))
        yesterday = timezone.now() - dt.timedelta(days=1)
        lea = CustomerFactory(
            organization=org, email=LEAVING, postal_code="69003", first_name="Léa"
        )
        stay = CustomerFactory(organization=org, email="marc.rey@example.net", postal_code="69004")
        CustomerFactory(organization=org, email="sans.accord@example.net", postal_code="69005")
        CustomerFactory(organization=org, email="", postal_code="69006")
        for c in (lea, stay):
            consent(c, "news_email", at=yesterday)

    page = site.new_page()
    login(page, site, boss.email)
    # ---- a segment: everyone in Lyon
    visit(page, site("messaging:segment_new"))
    page.locator("#id_name").fill("Lyon")
    page.locator("#id_postal_prefix").fill("69")
    assert not axe_audit(page), axe_audit(page)
    with page.expect_navigation():
        page.locator("#segment-form button[type=submit]").click()
    assert "Lyon" in page.inner_text("main")

    # ---- the campaign, with its live preview
    visit(page, site("messaging:campaign_new"))
    page.locator("#id_name").fill("Fête des voisins")
    with tenancy.tenant_context(org):
        seg = Segment.objects.get(name="Lyon")
    page.locator("#id_segment").select_option(str(seg.pk))
    page.locator("#id_subject_fr").fill("La fête des voisins")
    page.locator("#id_body_fr").fill("Bonjour {first_name}, venez **samedi** !")
    page.locator("#preview strong").wait_for()
    assert page.locator("#preview strong").inner_text() == "samedi"
    page.locator("[data-preview-size=desktop]").click()
    assert "msg-preview--desktop" in (page.locator("#preview").get_attribute("class") or "")
    with page.expect_navigation():
        page.locator("#campaign-form button[type=submit]").click()

    # ---- the audience: 2 receive it; excluded with reasons, in numbers
    assert page.locator("#audience-sending strong").inner_text() == "2"
    assert page.locator("[data-reason=no_consent]").inner_text() == "1"
    assert page.locator("[data-reason=no_address]").inner_text() == "1"
    assert not axe_audit(page), axe_audit(page)
    with page.expect_navigation():
        page.locator("#send-now").click()
    mail = wait_mail_to(smtp_server, LEAVING)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = text_body(mail)
    assert "Bonjour Léa" in body
    unsubscribe = re.search(r"(https?://\S+/unsubscribe/\S+/)", body)
    assert unsubscribe is not None

    # ---- Léa leaves from her phone: the page asks first (a GET changes nothing)
    phone = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    visit(phone, unsubscribe.group(1))
    with tenancy.tenant_context(org):
        assert not ConsentEvent.objects.filter(customer=lea, granted=False).exists()
    assert not axe_audit(phone), axe_audit(phone)
    with phone.expect_navigation():
        phone.locator("button[value=stop]").click()
    assert phone.locator("[role=status]").count() == 1
    with tenancy.tenant_context(org):
        latest = ConsentEvent.objects.filter(customer=lea).order_by("-occurred_at", "-pk").first()
        assert latest is not None and not latest.granted and latest.source == "unsubscribe_link"

    # ---- the next campaign's audience counts her as unsubscribed
    with tenancy.tenant_context(org):
        nxt = Campaign.objects.create(
            name="Suite", subject_fr="Suite", body_fr="Suite", segment=seg
        )
    visit(page, site("messaging:campaign", nxt.pk))
    assert page.locator("#audience-sending strong").inner_text() == "1"
    assert page.locator("[data-reason=unsubscribed]").inner_text() == "1"
    # ---- and her record says what she received and why
    visit(page, site("customers:detail", lea.pk))
    panel = page.locator("#messages-received").inner_text()
    assert "Fête des voisins" in panel
