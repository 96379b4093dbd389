"""Serving: a free class at 8 pm, on phones, from the owner's series to the points for coming.

The owner creates a weekly series on her phone; a visitor registers from the public page and
confirms by the email a real SMTP server on loopback receives (she joins the loyalty program on
the way); a second visitor lands on the waiting list; the first cancels from her registration's
page; the second is emailed the freed seat and accepts it; the owner checks her in at the door
by tapping her name; the points for coming appear in her customer space.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.events.models import Registration, RegStatus, Session
from cueillette.loyalty.models import Card

from .conftest import PHONE, Site, axe_audit, links, login, visit, wait_mail_to

pytestmark = pytest.mark.browser

FIRST = "lina.bernard@example.net"
SECOND = "hugo.lefort@example.net"


def _phone(site: Site) -> Any:
    return site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)


def _link(mail: Any, site: Site, part: str) -> str:
    found = [u for u in links(mail, site) if part in u]
    assert found, f"no {part} link in: {mail['Subject']}"
    return found[0]


def _register(site: Site, url: str, first: str, last: str, email: str, *, loyalty: bool) -> Any:
    page = _phone(site)
    visit(page, url)
    page.fill("#id_first_name", first)
    page.fill("#id_last_name", last)
    page.fill("#id_email", email)
    if loyalty:
        page.check("#id_consent_loyalty")
    with page.expect_navigation():
        page.locator("form.ev-register button[type=submit]").click()
    assert "/sent/" in page.url
    return page


def _confirm(site: Site, smtp: Any, email: str, count: int = 1) -> Any:
    mail = wait_mail_to(smtp, email, count)
    page = _phone(site)
    visit(page, _link(mail, site, "/sessions/confirm/"))
    with page.expect_navigation():
        page.locator("form.ev-confirm button[type=submit]").click()
    return page


def test_a_series_a_registration_a_waiting_list_a_freed_seat_and_points_for_coming(
    site: Site, smtp_server: Any, boss: Any
) -> None:
    org = boss.org
    # ---- the owner creates a weekly series on her phone
    owner = _phone(site)
    login(owner, site, boss.email)
    visit(owner, site("events:series_new"))
    first_day = (timezone.now() + dt.timedelta(days=3)).astimezone(org.tz).date()
    owner.fill("#id_title", "Yoga du soir")
    owner.fill("#id_location", "Salle des Tilleuls")
    owner.fill("#id_date", first_day.isoformat())
    owner.fill("#id_time", "20:00")
    owner.fill("#id_weeks", "3")
    owner.fill("#id_capacity", "1")
    owner.fill("#id_points_for_attending", "25")
    assert not axe_audit(owner), axe_audit(owner)
    with owner.expect_navigation():
        owner.locator("form.ev-form button[type=submit]").click()
    assert "/app/events/series/" in owner.url
    with tenancy.tenant_context(org):
        sessions = list(Session.objects.order_by("starts_at"))
    assert len(sessions) == 3
    assert {s.starts_at.astimezone(org.tz).strftime("%H:%M") for s in sessions} == {"20:00"}
    session = sessions[0]

    # ---- a visitor finds it on the public page and registers, joining the loyalty program
    listing = _phone(site)
    visit(listing, site.url + f"/o/{org.slug}/sessions/")
    assert listing.locator(f"[data-session='{session.pk}']").count() == 1
    assert not axe_audit(listing), axe_audit(listing)
    detail_url = site.url + f"/o/{org.slug}/sessions/{session.pk}/"
    lina = _register(site, detail_url, "Lina", "Bernard", FIRST, loyalty=False)
    assert not axe_audit(lina), axe_audit(lina)
    lina_page = _confirm(site, smtp_server, FIRST)
    assert lina_page.locator(".ev-status").get_attribute("data-status") == "confirmed"
    assert lina_page.locator(".ev-qr__code svg").count() == 1
    assert not axe_audit(lina_page), axe_audit(lina_page)

    # ---- a second visitor: the session is full, she joins the waiting list
    _register(site, detail_url, "Hugo", "Lefort", SECOND, loyalty=True)
    hugo_page = _confirm(site, smtp_server, SECOND)
    assert hugo_page.locator(".ev-status").get_attribute("data-status") == "waitlisted"
    assert hugo_page.locator("[data-position]").get_attribute("data-position") == "1"
    with tenancy.tenant_context(org):
        assert Card.objects.filter(customer__email=SECOND, status="open").exists()

    # ---- the first cancels in one click; the second is emailed the seat and takes it
    with lina_page.expect_navigation():
        lina_page.locator("form.ev-cancel button").click()
    assert lina_page.locator(".ev-status").get_attribute("data-status") == "cancelled"
    offer = wait_mail_to(smtp_server, SECOND, 3)  # confirm link, waiting list, seat offered
    assert "place" in offer["Subject"].lower() or "seat" in offer["Subject"].lower()
    accept = _phone(site)
    visit(accept, _link(offer, site, "/sessions/r/"))
    assert accept.locator(".ev-status").get_attribute("data-status") == "offered"
    with accept.expect_navigation():
        accept.locator("form[action$='/accept/'] button").click()
    assert accept.locator(".ev-status").get_attribute("data-status") == "confirmed"

    # ---- at the door, on the owner's phone: tap the name to check her in
    visit(owner, site("events:session", pk=session.pk))
    assert not axe_audit(owner), axe_audit(owner)
    with tenancy.tenant_context(org):
        reg = Registration.objects.get(session=session, email=SECOND)
    tap = owner.locator(f"[data-registration='{reg.pk}'] button.ev-tap")
    with owner.expect_navigation():
        tap.click()
    assert owner.locator(f"[data-registration='{reg.pk}']").get_attribute("data-status") == (
        "attended"
    )
    with tenancy.tenant_context(org):
        assert Registration.objects.get(pk=reg.pk).status == RegStatus.ATTENDED
        card = Card.objects.get(customer__email=SECOND)
    assert card.balance >= 25

    # ---- the points for coming appear in her space (opened by a magic link)
    space = _phone(site)
    visit(space, site.url + f"/o/{org.slug}/space/link/")
    space.fill("input[name=email]", SECOND)
    with space.expect_navigation():
        space.locator("main form button[type=submit]").click()
    magic = wait_mail_to(smtp_server, SECOND, 5)  # + confirmed seat, magic link
    visit(space, _link(magic, site, "/space/open/"))
    with space.expect_navigation():
        space.locator("main form button[type=submit]").click()
    body = space.locator("main").inner_text()
    assert re.search(r"\b25\b", body), body
    assert "Yoga du soir" in body
