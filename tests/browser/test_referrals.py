"""Word of mouth in a real browser.

(a) A member opens "Refer a friend" in their space; the friend follows the link on their own
    phone, joins with the loyalty program; the friend's first purchase is recorded; both see
    their points in their spaces.
(b) At the counter, staff register a new customer and answer "who sent you?" by searching
    an existing customer.
"""

from __future__ import annotations

from typing import Any

import pytest

from cueillette.accounts.models import Role
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.loyalty import services as loyalty
from cueillette.referrals import services as referrals
from cueillette.referrals.models import Referral

from .conftest import PHONE, TABLET, Site, axe_audit, login, visit
from .pages import open_space

pytestmark = pytest.mark.browser

SYSTEM = Actor.system("browser test")


def _setup_programs(org: Any) -> None:
    with tenancy.tenant_context(org):
        program = loyalty.get_program()
        program.welcome_bonus = 0
        program.points_per_euro = 1
        program.save()
        rp = referrals.get_program()
        rp.referrer_points = 100
        rp.friend_points = 50
        rp.save()


def _balance(page: Any) -> int:
    return int(page.locator(".lp-balance strong").inner_text().strip())


def test_a_member_shares_a_friend_joins_and_buys_both_see_their_points(
    site: Site, business: Any, make_customer: Any, tmp_path: Any
) -> None:
    org = business
    _setup_programs(org)
    # make_customer records the loyalty consent, which issues her card (its consequence).
    claire = make_customer(org, first_name="Claire", last_name="Martin", email="claire@ex.net")
    with tenancy.tenant_context(org):
        assert loyalty.open_card_for(claire) is not None

    # ---- the member, on their phone, finds "Refer a friend" in their space
    member = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    open_space(site, member, org, claire)
    with member.expect_navigation():
        member.locator("[data-referral-share-link]").first.click()
    assert member.url == site("public:referral_share", slug=org.slug)
    link = member.locator("#share-url").input_value()
    assert link.startswith(site.url + f"/o/{org.slug}/r/")
    assert "claire" not in link.lower() and "martin" not in link.lower()
    assert link in member.locator("#share-message").input_value()
    # The QR code is an image of our own route, and it loads.
    assert member.locator("img[data-share-qr]").evaluate(
        "img => img.complete && img.naturalWidth > 0"
    )
    # The message switches language in place (no reload) and the links follow what is typed.
    other = member.locator("[data-share-lang]:not([aria-current])").first
    other_lang = other.get_attribute("hreflang")
    other.click()
    assert member.url == site("public:referral_share", slug=org.slug)
    assert member.locator("#share-message").get_attribute("lang") == other_lang
    chosen = member.locator(f"[data-share-lang][hreflang={other_lang}]")
    assert chosen.get_attribute("aria-current") == "true"
    assert link in member.locator("#share-message").input_value()
    member.locator("#share-message").fill("Viens ! " + link)
    assert "Viens" in (member.locator("[data-share-sms]").get_attribute("href") or "")
    assert member.locator("[data-copy]").first.is_visible()
    assert axe_audit(member) == []
    member.screenshot(path=str(tmp_path / "share.png"), full_page=True)

    # ---- the friend opens the link on their own phone: nothing recorded, no cookie
    friend_context = site.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    friend = friend_context.new_page()
    visit(friend, link)
    assert "Claire" in friend.locator("h1").inner_text()
    assert "Martin" not in friend.locator("main").inner_text()
    assert friend_context.cookies() == []
    with tenancy.tenant_context(org):
        assert not Referral.objects.exists()
    assert axe_audit(friend) == []
    friend.screenshot(path=str(tmp_path / "landing.png"), full_page=True)
    boxes = friend.locator("main input[type=checkbox]")
    assert all(not boxes.nth(i).is_checked() for i in range(boxes.count()))

    form = friend.locator("form[data-join-form]")
    form.locator("input[name=first_name]").fill("Léa")
    form.locator("input[name=last_name]").fill("Bernard")
    form.locator("input[name=email]").fill("lea.bernard@ex.net")
    form.locator("input[name=consent_loyalty]").check()
    with friend.expect_navigation():
        form.locator("button[type=submit]").click()
    assert friend.locator("[data-referral-joined]").is_visible()

    with tenancy.tenant_context(org):
        referral = Referral.objects.select_related("friend").get()
        assert referral.referrer_id == claire.pk and referral.source == "link"
        assert referral.status == "pending"
        lea = referral.friend
        card = loyalty.open_card_for(lea)
        assert card is not None
        # ---- the friend's first purchase, recorded at the till
        loyalty.record_purchase(card, amount="30.00", actor=SYSTEM, receipt_id="T-1")
        referral.refresh_from_db()
        assert referral.status == "confirmed"

    # ---- both see their points
    open_space(site, friend, org, lea)
    visit(friend, site("public:loyalty", slug=org.slug))
    assert _balance(friend) == 80  # 30 for the purchase + 50 welcome points

    visit(member, site("public:referral_share", slug=org.slug))
    # Counts only: the member never learns who joined or what became of them.
    assert member.locator("[data-referral-count=confirmed]").get_attribute("data-count") == "1"
    assert member.locator("[data-referral-points]").get_attribute("data-referral-points") == "100"
    text = member.locator("main").inner_text()
    assert "Léa" not in text and "Bernard" not in text
    member.screenshot(path=str(tmp_path / "share-after.png"), full_page=True)
    visit(member, site("public:loyalty", slug=org.slug))
    assert _balance(member) == 100


def test_staff_credit_a_referral_at_the_counter(
    site: Site, make_staff: Any, make_customer: Any, tmp_path: Any
) -> None:
    lea = make_staff(Role.COUNTER, full_name="Léa Petit", email="lea@lumiere.example")
    org = lea.org
    _setup_programs(org)
    claire = make_customer(org, first_name="Claire", last_name="Martin", email="claire@ex.net")
    make_customer(
        org, first_name="Claude", last_name="Martin", email="claude@ex.net", phone="+33699999999"
    )

    page = site.new_page(viewport=TABLET, has_touch=True)
    login(page, site, lea.email)
    visit(page, site("customers:create"))
    page.locator("input[name=first_name]").fill("Hugo")
    page.locator("input[name=last_name]").fill("Lefèvre")
    page.locator("input[name=phone]").fill("06 55 44 33 22")
    page.locator("details.register-form__more summary").click()  # "who sent you?" is optional
    who = page.locator("input[name=referrer_q]")
    who.fill("Martin")
    who.press("Enter")  # searches, does not send the form
    choice = page.locator(f"#referrer-{claire.pk}")
    choice.wait_for(state="visible")
    assert page.locator("[data-referrer-choices] input[type=radio]").count() == 2
    assert page.url == site("customers:create")
    assert axe_audit(page) == []
    page.screenshot(path=str(tmp_path / "counter.png"), full_page=True)
    choice.check()
    with page.expect_navigation():
        page.locator("form[data-dup-check] button[type=submit]").first.click()
    assert "/app/customers/new/" not in page.url, page.locator("main").inner_text()
    assert "Claire Martin" in page.locator(".messages").inner_text()

    with tenancy.tenant_context(org):
        referral = Referral.objects.select_related("referrer", "friend").get()
    assert referral.referrer_id == claire.pk
    assert referral.friend.first_name == "Hugo"
    assert referral.source == "counter" and referral.created_by_id == lea.user.pk
