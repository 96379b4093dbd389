"""A new business signs up and invites a colleague, who joins as counter staff."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from cueillette.accounts.models import Role, User
from cueillette.core.models import Organization

from .conftest import PHONE, Site, first_link, membership_role, visit, wait_mail_to

pytestmark = pytest.mark.browser

OWNER_EMAIL = "nadia@the-tea-corner.example"
OWNER_PASSWORD = "Thé vert et jasmin 2026"
COLLEAGUE_EMAIL = "yanis@the-tea-corner.example"
COLLEAGUE_PASSWORD = "Comptoir du matin 42"


def test_a_business_signs_up_and_invites_counter_staff(
    site: Site, smtp_server: Any, transactional_db: None
) -> None:
    owner_page = site.new_page()

    # A visitor opens the landing page and follows the sign-up link.
    visit(owner_page, site("/"))
    signup = reverse("accounts:signup")
    owner_page.locator(f"main a[href='{signup}']").first.click()
    owner_page.wait_for_url(site(signup))
    form = owner_page.locator("form:has(input[name=org_name])")
    assert form.count() == 1, owner_page.content()[:2000]

    # Every field has a label (checked here as a person would use them).
    for name in ("org_name", "slug", "full_name", "email", "password"):
        field = form.locator(f"[name={name}]")
        field_id = field.get_attribute("id")
        assert field_id and form.locator(f"label[for='{field_id}']").count() == 1, name

    form.locator("[name=org_name]").fill("Le Coin du Thé")
    form.locator("[name=slug]").fill("coin-du-the")
    form.locator("[name=language]").select_option("fr")
    form.locator("[name=timezone]").fill("Europe/Paris")  # a text box with a list of zones
    form.locator("[name=currency]").select_option("EUR")
    form.locator("[name=full_name]").fill("Nadia Benali")
    form.locator("[name=email]").fill(OWNER_EMAIL)
    form.locator("[name=password]").fill(OWNER_PASSWORD)
    with owner_page.expect_navigation():
        form.locator("button[type=submit]").click()

    # She lands on the home page of her new business.
    assert owner_page.url == site("web:home"), owner_page.content()[:3000]
    assert "Le Coin du Thé" in owner_page.locator("header").inner_text()
    org = Organization.objects.get(slug="coin-du-the")
    owner = User.objects.get(email=OWNER_EMAIL)
    assert membership_role(owner, org) == Role.OWNER
    assert (org.language, org.timezone, org.currency) == ("fr", "Europe/Paris", "EUR")

    # She confirms her email address (inviting people needs a confirmed address).
    welcome = wait_mail_to(smtp_server, OWNER_EMAIL)
    visit(owner_page, first_link(welcome, site))
    assert User.objects.get(pk=owner.pk).email_confirmed_at is None, "a GET confirms nothing"
    with owner_page.expect_navigation():
        owner_page.locator("main form[method=post]:not([action]) button[type=submit]").first.click()
    assert User.objects.get(pk=owner.pk).email_confirmed_at is not None
    visit(owner_page, site("web:home"))

    # Settings -> team -> invite a colleague as counter staff.
    settings_url = reverse("accounts:settings")
    # Settings live in the menu under the business's name.
    owner_page.locator("header details.usermenu summary").click()
    owner_page.locator(f"header a[href='{settings_url}']").click()
    owner_page.wait_for_url(site(settings_url) + "**")
    # The settings page leads to the team page, where invitations are sent.
    team_url = reverse("accounts:staff")
    owner_page.locator(f"main a[href='{team_url}']").first.click()
    owner_page.wait_for_url(site(team_url) + "**")
    invite = owner_page.locator("form:has(select[name=role]):has(input[name=email])").first
    invite.locator("input[name=email]").fill(COLLEAGUE_EMAIL)
    invite.locator("select[name=role]").select_option(Role.COUNTER)
    with owner_page.expect_navigation():
        invite.locator("button[type=submit]").click()
    assert COLLEAGUE_EMAIL in owner_page.locator("main").inner_text()

    # The invitation arrives through the real SMTP server.
    mail = wait_mail_to(smtp_server, COLLEAGUE_EMAIL)
    link = first_link(mail, site)

    # The colleague, on their own phone, opens the link and creates their account.
    colleague_page = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    visit(colleague_page, link)
    assert "Le Coin du Thé" in colleague_page.locator("main").inner_text()
    accept = colleague_page.locator("form:has(input[name=full_name])")
    accept.locator("input[name=full_name]").fill("Yanis Haddad")
    accept.locator("input[type=password]").fill(COLLEAGUE_PASSWORD)
    with colleague_page.expect_navigation():
        accept.locator("button[type=submit]").click()

    # They land inside the business, as counter staff.
    assert colleague_page.url.startswith(site("web:home")), colleague_page.content()[:3000]
    colleague = User.objects.get(email=COLLEAGUE_EMAIL)
    assert colleague.full_name == "Yanis Haddad"
    assert membership_role(colleague, org) == Role.COUNTER
    header = colleague_page.locator("header")
    assert "Le Coin du Thé" in header.inner_text()
    # Counter staff do not see the activity log, nor the settings.
    assert header.locator(f"a[href='{reverse('customers:audit')}']").count() == 0
    assert header.locator(f"a[href='{settings_url}']").count() == 0
    assert colleague_page.get_by_role("link", name="Activity log").count() == 0
    assert colleague_page.get_by_role("link", name="Journal d'activité").count() == 0
    # And the door is really closed, not just the link hidden.
    response = colleague_page.goto(site("customers:audit"))
    assert response is not None and response.status == 403

    # The owner sees the colleague in the team now.
    owner_page.reload()
    assert "Yanis Haddad" in owner_page.locator("main").inner_text() or (
        COLLEAGUE_EMAIL in owner_page.locator("main").inner_text()
    )
