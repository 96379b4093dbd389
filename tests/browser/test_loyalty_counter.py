"""At the till, on a tablet: scan a member's card (a photo of its QR code), record a purchase
(amount -> preview -> confirm), give a reward, undo it; then the customer sees it in their
space."""

from __future__ import annotations

import io
from typing import Any

import pytest
import segno
from django.urls import NoReverseMatch, reverse

from cueillette.accounts.models import Role
from cueillette.core import tenancy
from cueillette.loyalty import rules, services
from cueillette.loyalty.models import Card, PointsEntry, Redemption, Reward

from .conftest import TABLET, Site, axe_audit, first_link, login, visit, wait_mail_to

pytestmark = pytest.mark.browser

EMAIL = "ines.moreau@example.net"


def qr_png(text: str) -> bytes:
    """A photo of the card, as the test's camera would take it: the QR code of the card."""
    buffer = io.BytesIO()
    segno.make_qr(text).save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def balance_on_screen(page: Any) -> int:
    return int(page.locator("[data-balance]").first.inner_text().strip())


def db_balance(org: Any, card: Card) -> int:
    with tenancy.tenant_context(org):
        card.refresh_from_db()
        ledger = sum(PointsEntry.objects.filter(card=card).values_list("points", flat=True))
        assert card.balance == ledger
        return card.balance


def test_counter_scans_records_redeems_and_undoes(
    site: Site, make_staff: Any, make_customer: Any, smtp_server: Any
) -> None:
    lea = make_staff(Role.COUNTER, full_name="Léa Petit", email="lea@lumiere.example")
    org = lea.org
    customer = make_customer(org, email=EMAIL)
    with tenancy.tenant_context(org):
        # make_customer records the loyalty consent, which issued the card (its consequence).
        card = services.open_card_for(customer)
        assert card is not None
        coffee = Reward.objects.create(name="Café offert", cost=20, stock=3)
    assert db_balance(org, card) == 0

    page = site.new_page(viewport=TABLET, has_touch=True)
    login(page, site, lea.email)

    # ---- the counter home: search box and the scan tools (shown by the script)
    visit(page, site("loyalty:counter"))
    scan = page.locator("[data-scan]")
    scan.wait_for(state="visible")
    assert axe_audit(page) == []

    # ---- a photo of the card's QR code: decoded in the page (jsQR on this chromium)
    with page.expect_navigation(url=site("loyalty:counter_card", pk=card.pk)):
        page.locator("input[data-scan-file]").set_input_files(
            {"name": "carte.png", "mimeType": "image/png", "buffer": qr_png(card.number)}
        )
    assert balance_on_screen(page) == 0
    assert "Moreau" in page.locator("h1").inner_text()
    assert axe_audit(page) == []

    # ---- purchase: amount -> preview -> confirm (three taps)
    amount = page.locator("form[data-preview] input[name=amount]")
    amount.tap()
    amount.fill("42,50")
    page.locator("form[data-preview] button[type=submit]").tap()
    confirm = page.locator("[data-preview-target] form button[type=submit]")
    confirm.wait_for(state="visible")
    assert "42" in confirm.inner_text()
    assert db_balance(org, card) == 0, "the preview writes nothing"
    with page.expect_navigation():
        confirm.tap()
    assert balance_on_screen(page) == 42
    assert "42" in page.locator(".messages").inner_text()
    assert db_balance(org, card) == 42

    # ---- redeem a reward, with its confirm step
    reward = page.locator(".counter-reward").filter(has_text="Café offert")
    reward.locator("summary").tap()
    give = reward.locator(".counter-reward__confirm button[type=submit]")
    give.wait_for(state="visible")
    with page.expect_navigation():
        give.tap()
    assert balance_on_screen(page) == 22
    assert db_balance(org, card) == 22
    with tenancy.tenant_context(org):
        assert Redemption.objects.filter(card=card, cancelled_at__isnull=True).count() == 1

    # ---- undo it (one's own last operation, within five minutes)
    undo = page.locator(".counter-undo button[type=submit]")
    assert "Café offert" in page.locator(".counter-undo").inner_text()
    with page.expect_navigation():
        undo.tap()
    assert balance_on_screen(page) == 42
    assert page.locator(".counter-undo").count() == 0
    assert db_balance(org, card) == 42
    with tenancy.tenant_context(org):
        coffee.refresh_from_db()
        assert coffee.stock == 3
        assert Redemption.objects.get(card=card).cancelled_at is not None

    # ---- typing the number works too (spaces as printed on the card)
    visit(page, site("loyalty:counter"))
    search = page.locator("main form[role=search] input[name=q]")
    search.fill(rules.format_card_number(card.number))
    with page.expect_navigation(url=site("loyalty:counter_card", pk=card.pk)):
        search.press("Enter")

    # ---- the customer opens their space and sees the points
    try:
        loyalty_path = reverse("public:loyalty", kwargs={"slug": org.slug})
        request_path = reverse("public:portal_request", kwargs={"slug": org.slug})
    except NoReverseMatch:  # the customer's loyalty page is not there: the ledger says it
        assert db_balance(org, card) == 42
        return
    phone = site.new_page()
    visit(phone, site(request_path))
    ask = phone.locator("main form:has(input[name=email])").first
    ask.locator("input[name=email]").fill(EMAIL)
    with phone.expect_navigation():
        ask.locator("button[type=submit]").first.click()
    visit(phone, first_link(wait_mail_to(smtp_server, EMAIL), site))
    with phone.expect_navigation():
        phone.locator("main form[method=post] button[type=submit]").first.click()
    visit(phone, site(loyalty_path))
    text = phone.locator("main").inner_text()
    assert "42" in text, text
    assert rules.format_card_number(card.number) in text or card.number in text, text


def y4m_of_qr(text: str, path: Any, size: int = 480, frames: int = 5) -> None:
    """A short video of the card held in front of the camera (Chromium's fake camera reads
    YUV4MPEG2): the QR code in black on white, grey chroma."""
    matrix = [list(row) for row in segno.make_qr(text).matrix_iter(scale=1, border=4)]
    cells = len(matrix)
    luma = bytearray(size * size)
    for y in range(size):
        row = matrix[y * cells // size]
        for x in range(size):
            luma[y * size + x] = 0 if row[x * cells // size] else 255
    chroma = bytes([128]) * ((size // 2) * (size // 2))
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    header = f"YUV4MPEG2 W{size} H{size} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * frames)


def test_counter_scans_with_the_camera(
    site: Site, make_staff: Any, make_customer: Any, playwright_instance: Any, tmp_path: Any
) -> None:
    """The camera opens only on a button press; the card held in front of it opens the
    member screen (Chromium's fake camera plays a video of the card's QR code)."""
    from .conftest import CHROMIUM, CHROMIUM_ARGS

    lea = make_staff(Role.COUNTER, full_name="Léa Petit", email="lea@lumiere.example")
    customer = make_customer(lea.org)
    with tenancy.tenant_context(lea.org):
        card = services.open_card_for(customer)  # issued by the loyalty consent
    assert card is not None
    video = tmp_path / "card.y4m"
    y4m_of_qr(card.number, video)
    camera_browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    guarded = Site(url=site.url, browser=camera_browser)
    try:
        context = guarded.new_context(viewport=TABLET, has_touch=True)
        context.grant_permissions(["camera"], origin=site.url)
        page = context.new_page()
        login(page, site, lea.email)
        visit(page, site("loyalty:counter"))
        page.locator("[data-scan]").wait_for(state="visible")
        assert page.locator("video[data-scan-video]").is_hidden(), "no camera before asked"
        with page.expect_navigation(url=site("loyalty:counter_card", pk=card.pk)):
            page.locator("[data-scan-start]").tap()
        assert balance_on_screen(page) == 0
        problems = [p for g in guarded.guards for p in g.problems()]
        assert not problems, problems
    finally:
        for c in guarded.contexts:
            c.close()
        camera_browser.close()
