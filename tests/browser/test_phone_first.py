"""On a 390 px phone (issue 10, items 3 and 19): the staff menu is whole and puts the counter
first for counter staff; a new member's registration fits one screen and ends on the counter;
a visitor who joins sees their card at once and can keep it on the home screen."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from cueillette.accounts.models import Role, User
from cueillette.core import tenancy
from cueillette.customers.models import Customer

from .conftest import PHONE, Site, axe_audit, login

pytestmark = pytest.mark.browser

# Every element's box inside the viewport's width, and no sideways scrolling.
OVERFLOW_JS = """() => {
  const w = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || el.closest('.skip-link, .visually-hidden')) continue;
    // The content of a closed <details> is laid out but not shown.
    const closed = el.closest('details:not([open])');
    if (closed && !el.closest('summary')) continue;
    const where = ' ' + r.left + '-' + r.right;
    if (r.right > w + 1 || r.left < -1) out.push(el.outerHTML.slice(0, 80) + where);
  }
  return {out: out.slice(0, 10), scroll: document.documentElement.scrollWidth, w: w};
}"""


def _no_overflow(page: Any) -> None:
    result = page.evaluate(OVERFLOW_JS)
    assert result["scroll"] <= result["w"], result
    assert result["out"] == [], result


def _bar_labels(page: Any) -> list[str]:
    items = page.locator("[data-phonebar] .phonebar__item")
    return [items.nth(i).inner_text().strip() for i in range(items.count())]


def test_phone_menu_is_whole_and_starts_with_the_counter(site: Site, make_staff: Any) -> None:
    lea = make_staff(Role.COUNTER, full_name="Léa Petit", email="lea@lumiere.example")
    page = site.new_page(viewport=PHONE, has_touch=True)
    login(page, site, lea.email)
    assert page.url == site("loyalty:counter")  # counter staff land on the counter
    assert not page.locator("nav.mainnav").is_visible()  # the strip cut at "Co…" is gone
    bar = page.locator("[data-phonebar]")
    assert bar.is_visible()
    labels = _bar_labels(page)
    assert labels[0] == "Comptoir", labels  # the counter first
    assert labels[-1] == "Menu", labels
    first = page.locator("[data-phonebar] a.phonebar__item").first
    assert first.get_attribute("aria-current") == "page"
    for i in range(bar.locator(".phonebar__item").count()):
        box = bar.locator(".phonebar__item").nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
        assert box["y"] + box["height"] <= PHONE["height"] + 0.5  # at the bottom, on screen
    _no_overflow(page)
    # Each label is whole: "Communauté", not "Co…".
    cut = page.evaluate(
        """() => [...document.querySelectorAll('.phonebar__item span')]
            .filter(s => s.scrollWidth > s.clientWidth + 1 || s.getBoundingClientRect().right
                > s.closest('li').getBoundingClientRect().right + 1).map(s => s.textContent)"""
    )
    assert cut == [], cut
    # "Menu" opens without JavaScript (<details>) and holds the rest, within the screen too.
    page.locator("[data-phonebar] summary").click()
    panel = page.locator(".phonebar__panel")
    assert panel.is_visible()
    assert "Se déconnecter" in panel.inner_text() or "Log out" in panel.inner_text()
    box = panel.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
    assert axe_audit(page) == []


def test_owner_reaches_every_screen_from_the_phone_menu(site: Site, boss: Any) -> None:
    page = site.new_page(viewport=PHONE, has_touch=True)
    login(page, site, boss.email)
    labels = _bar_labels(page)
    assert labels[0] == "Accueil" and len(labels) == 5, labels
    page.locator("[data-phonebar] summary").click()
    panel = page.locator(".phonebar__panel").inner_text()
    for wanted in ("Communauté", "Parrainage", "Réglages"):
        assert wanted in panel or wanted.lower() in panel.lower(), panel
    _no_overflow(page)
    # A laptop keeps the top menu, without the bottom bar.
    wide = site.new_page()
    login(wide, site, boss.email)
    assert wide.locator("nav.mainnav").is_visible()
    assert not wide.locator("[data-phonebar]").is_visible()


def test_counter_registration_fits_one_phone_screen(site: Site, make_staff: Any) -> None:
    lea = make_staff(Role.COUNTER, full_name="Léa Petit", email="lea@lumiere.example")
    # A working clerk has confirmed their address (no banner above the form).
    User.objects.filter(pk=lea.user.pk).update(email_confirmed_at=timezone.now())
    page = site.new_page(viewport=PHONE, has_touch=True)
    login(page, site, lea.email)
    page.locator("main a[href*='/app/customers/new/']").first.click()
    page.wait_for_url("**/app/customers/new/**")
    form = page.locator("form[data-dup-check]")
    bar_top = page.locator("[data-phonebar]").bounding_box()["y"]
    for selector in (
        "[name=first_name]",
        "[name=last_name]",
        "[name=phone]",
        "[name=email]",
        "input[name=consent_loyalty]",
        "input[name=consent_news_email]",
        "input[name=consent_news_sms]",
        ".consents__other summary",
        "button[type=submit] >> nth=0",
    ):
        box = form.locator(selector).bounding_box()
        assert box and box["y"] + box["height"] <= bar_top, (selector, box, bar_top)
    _no_overflow(page)
    form.locator("[name=first_name]").fill("Chloé")
    form.locator("[name=last_name]").fill("Lambert")
    form.locator("[name=phone]").fill("06 71 22 33 44")
    form.locator("input[name=consent_loyalty]").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()
    with tenancy.tenant_context(lea.org):
        card = Customer.objects.get(last_name="Lambert").cards.get()
    # Back on the counter, the new member open, ready for the purchase.
    assert page.url == site("loyalty:counter_card", pk=card.pk)
    assert card.display_number in page.locator("main").inner_text()
    assert page.locator("main [name=amount]").count() == 1
    _no_overflow(page)


def test_joining_on_a_phone_shows_the_card_at_once(site: Site, business: Any) -> None:
    page = site.new_page(viewport=PHONE, has_touch=True)
    page.goto(site(f"/o/{business.slug}/join/"))
    form = page.locator("main form").first
    form.locator("[name=first_name]").fill("Camille")
    form.locator("[name=last_name]").fill("Durand")
    form.locator("[name=email]").fill("camille@example.net")
    form.locator("input[name=consent_loyalty]").check()
    form.locator("input[name=consent_news_email]").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()
    with tenancy.tenant_context(business):
        card = Customer.objects.get(email="camille@example.net").cards.get()
    text = page.locator("main").inner_text()
    assert card.display_number in text
    assert page.locator("main .lcard__qr svg").is_visible()
    _no_overflow(page)
    assert axe_audit(page) == []
    # The card for the phone: the wallet page, which can be added to the home screen.
    with page.expect_navigation():
        page.locator("main a[href*='/wallet/']").first.click()
    assert page.locator("link[rel=manifest]").count() == 1
    assert card.display_number in page.locator("body").inner_text()
