"""A customer joins on their phone, confirms by email, opens their space, takes their data,
withdraws, erases themselves; the owner sees every step in the activity log."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from cueillette.core import tenancy
from cueillette.core.models import AuditEvent
from cueillette.customers.models import ConsentEvent, Customer, CustomerStatus
from cueillette.customers.services import current_wording

from .conftest import PHONE, Site, first_link, login, visit, wait_mail_to
from .pages import portal_request_path

pytestmark = pytest.mark.browser

EMAIL = "camille.roux@example.net"


def _submit(page: Any, form: Any) -> None:
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()


def _news_email_grants(org: Any) -> int:
    with tenancy.tenant_context(org):
        return ConsentEvent.objects.filter(
            customer__email=EMAIL, purpose="news_email", granted=True
        ).count()


def test_customer_joins_confirms_takes_their_data_and_leaves(
    site: Site, smtp_server: Any, boss: Any, tmp_path: Path
) -> None:
    org = boss.org
    context = site.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()

    # ---- the join page, on a phone: nothing is pre-ticked
    visit(page, site("public:join", slug=org.slug))
    form = page.locator(
        f"form[action$='{reverse('public:join', kwargs={'slug': org.slug})}'], "
        "form:has(input[name=email])"
    ).first
    boxes = form.locator("input[type=checkbox]")
    assert boxes.count() >= 2, page.content()[:3000]
    assert form.locator("input[type=checkbox]:checked, input[type=radio]:checked").count() == 0
    form.locator("[name=first_name]").fill("Camille")
    if form.locator("[name=last_name]").count():
        form.locator("[name=last_name]").fill("Roux")
    form.locator("[name=email]").fill(EMAIL)
    form.locator(
        "input[type=checkbox][name$=news_email], input[type=checkbox][value=news_email]"
    ).check()
    form.locator("input[type=checkbox][name$=loyalty], input[type=checkbox][value=loyalty]").check()
    _submit(page, form)
    assert page.url == site("public:join_done", slug=org.slug), page.locator("main").inner_text()

    with tenancy.tenant_context(org):
        customer = Customer.objects.get(email=EMAIL)
        granted = set(
            ConsentEvent.objects.filter(customer=customer, granted=True).values_list(
                "purpose", flat=True
            )
        )
    assert customer.source == "join_page"
    assert granted == {"loyalty"}, granted
    assert _news_email_grants(org) == 0, "news by email waits for the email confirmation"

    # ---- the confirmation email, through the real SMTP server
    confirm_mail = wait_mail_to(smtp_server, EMAIL)
    confirm_url = first_link(confirm_mail, site)
    visit(page, confirm_url)
    # Opening the link (a GET: mail scanners do that) agrees to nothing; it shows the text.
    assert _news_email_grants(org) == 0, "a GET on the confirmation link must not grant"
    with tenancy.tenant_context(org):
        news_wording = current_wording("news_email", customer.language).text
    assert news_wording[:40] in " ".join(page.locator("main").inner_text().split())
    confirm = page.locator("main form[method=post]:not([action])").first
    _submit(page, confirm)
    assert _news_email_grants(org) == 1

    # ---- their space, by magic link
    visit(page, site(portal_request_path(org.slug)))
    ask = page.locator("main form:has(input[name=email])").first
    ask.locator("input[name=email]").fill(EMAIL)
    _submit(page, ask)
    magic_mail = wait_mail_to(smtp_server, EMAIL, count=2)
    visit(page, first_link(magic_mail, site))
    # The link shows a button (mail scanners open links, they do not press buttons).
    assert "/space/open/" in page.url, page.url
    _submit(page, page.locator("main form[method=post]:not([action])").first)
    assert page.url.rstrip("/").endswith("/space"), page.url
    text = page.locator("main").inner_text()
    assert "Camille" in text, text
    for purpose in ("news_email", "loyalty"):
        with tenancy.tenant_context(org):
            wording = current_wording(purpose, customer.language).text
        assert wording[:40] in " ".join(text.split()), f"{purpose} wording not shown:\n{text}"

    # ---- download everything
    with page.expect_download() as dl:
        page.locator(
            "main a[href*=export], main a[href*=download], "
            "main form[action*=export] button[type=submit], "
            "main form[action*=download] button[type=submit]"
        ).first.click()
    archive = tmp_path / "data.zip"
    dl.value.save_as(archive)
    with zipfile.ZipFile(archive) as z:
        assert "data.json" in z.namelist(), z.namelist()
        data = json.loads(z.read("data.json"))
    assert EMAIL in json.dumps(data, ensure_ascii=False)

    # ---- withdraw news by email in one click
    withdraw = page.locator(
        "main form:has(input[name=purpose][value=news_email])"
        ":has(input[name=decision][value=withdraw])"
    )
    assert withdraw.count() == 1, page.locator("main").inner_text()
    _submit(page, withdraw)
    with tenancy.tenant_context(org):
        latest = (
            ConsentEvent.objects.filter(customer=customer, purpose="news_email")
            .order_by("-occurred_at", "-id")
            .first()
        )
    assert latest is not None and latest.granted is False
    assert latest.source == "portal"

    # ---- erase themselves
    erase_url = reverse("public:portal_erase", kwargs={"slug": org.slug})
    page.locator(f"main a[href='{erase_url}']").click()
    page.wait_for_url(site(erase_url))
    # One confirmation step that says what goes and what stays.
    _submit(page, page.locator("main form[method=post]:not([action])").first)
    with tenancy.tenant_context(org):
        customer.refresh_from_db()
    assert customer.status == CustomerStatus.ERASED
    assert customer.email == "" and customer.first_name == ""
    # The space is closed behind them.
    page.goto(site("public:portal", slug=org.slug))
    assert page.url.startswith(site(portal_request_path(org.slug))), page.url
    context.close()

    # ---- the owner sees all of it in the activity log
    owner_page = site.new_page()
    login(owner_page, site, boss.email)
    visit(owner_page, site("customers:audit"))
    with tenancy.tenant_context(org):
        actions = list(
            AuditEvent.objects.filter(object_id=str(customer.pk)).values_list("action", flat=True)
        )
    expected = {
        "created": "customer.created",
        "confirmed": "consent.email_confirmed",
        "exported": "export",
        "withdrawn": "consent.withdrawn",
        "erased": "erase",
    }
    log = owner_page.locator("main").inner_text()
    for step, needle in expected.items():
        matching = [a for a in actions if needle in a]
        assert matching, f"no audit row for {step} ({needle}); rows: {actions}"
        assert any(a in log for a in matching) or _shown(owner_page, matching), (
            f"{step}: {matching} not shown in the activity log:\n{log[:3000]}"
        )
    assert EMAIL not in log and "Camille" not in log, "no personal data in the log"


def _shown(page: Any, actions: list[str]) -> bool:
    """The log may show friendly labels; each row carries its code somewhere in the markup."""
    html = page.locator("main").inner_html()
    return any(a in html for a in actions)
