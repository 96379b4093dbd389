"""The staff side of the community page, in a real browser.

(a) A customer posts a complaint from their space (and follows the thread); the owner replies
    publicly and marks "we got this wrong" on the staff thread page; the customer gets the reply
    through the real SMTP server (with a one-click unsubscribe); the public thread shows both.
(b) A manager hides a spam post with a listed reason; the public placeholder shows it; the
    author appeals from their space; the owner upholds the appeal; the text is visible again.
"""

from __future__ import annotations

from typing import Any

import pytest

from cueillette.accounts.models import Role
from cueillette.community import services
from cueillette.community.models import Appeal, Post
from cueillette.core import tenancy

from .conftest import PHONE, Site, links, login, visit, wait_mail_to
from .pages import open_space

pytestmark = pytest.mark.browser

COMPLAINT = "Vingt minutes d'attente à la caisse samedi, et personne pour ouvrir une autre caisse."
SPAM = "Gagnez 500 euros par jour depuis chez vous, écrivez-moi vite !"


@pytest.fixture(autouse=True, scope="module")
def _warm_analysis() -> None:
    """Load the text analysis (lexicons, spaCy's lookup tables) once, before the server's first
    post: the live server runs in this process, so it finds them loaded."""
    from cueillette.community import analysis

    analysis.analyse("Bon accueil, merci.", lemmatizer="lookup")
    analysis.analyse("Great welcome, thanks.", lemmatizer="lookup")


def _submit(page: Any, form: Any, button: str = "button[type=submit]") -> None:
    with page.expect_navigation(timeout=30_000):
        form.locator(button).first.click()


def test_complaint_answered_and_acknowledged_customer_emailed(
    site: Site, smtp_server: Any, boss: Any, make_customer: Any
) -> None:
    org = boss.org
    customer = make_customer(org, email="ines.moreau@example.net")

    # ---- the customer, on a phone, posts a complaint from their space and follows the thread
    cpage = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    open_space(site, cpage, org, customer)
    visit(cpage, site("public:community_new", slug=org.slug))
    form = cpage.locator("form[data-form=community-new]")
    form.locator("#kind_complaint").check()
    form.locator("[name=text]").fill(COMPLAINT)
    form.locator("[name=display_name]").fill("Inès M.")
    form.locator("#id_follow").check()
    if form.locator("#id_consent").count():
        form.locator("#id_consent").check()
    _submit(cpage, form)
    with tenancy.tenant_context(org):
        post = Post.objects.get(author=customer)
        assert services.subscribers(post) == [customer]
    assert post.kind == "complaint" and post.text == COMPLAINT

    # ---- the owner answers publicly and says "we got this wrong" on the staff thread page
    page = site.new_page()
    login(page, site, boss.email)
    visit(page, site("community:inbox") + "?show=unanswered")
    with page.expect_navigation():
        page.locator(f"#inbox li[data-post='{post.pk}'] a").click()
    assert page.url == site("community:thread", pk=post.pk)
    reply_form = page.locator("#reply-form")
    reply_form.locator("textarea[name=text]").fill(
        "Vous avez raison : nous ouvrons une deuxième caisse le samedi dès cette semaine."
    )
    _submit(page, reply_form)
    ack = page.locator("#ack-form")
    ack.locator("textarea[name=note]").fill("Nous avions sous-estimé l'affluence du samedi.")
    _submit(page, ack)
    assert page.locator("#post").get_attribute("data-acknowledged") == "true"
    assert page.locator("#post").get_attribute("data-status") == "acknowledged"
    actions = page.locator("#history li").evaluate_all("els => els.map(e => e.dataset.action)")
    assert actions == ["reply", "acknowledge", "status_change"], actions

    # ---- the customer receives the reply by email, with a one-click unsubscribe
    mail = wait_mail_to(smtp_server, customer.email)
    assert "".join(str(mail["List-Unsubscribe"]).split()).startswith("<" + site.url)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    thread_url = site("public:community_post", slug=org.slug, pk=post.pk)
    assert thread_url in links(mail, site)

    # ---- the public thread shows the reply and the acknowledgement
    visit(cpage, thread_url)
    assert cpage.locator(".cm-reply").count() == 1
    assert "deuxième caisse" in cpage.locator(".cm-reply").inner_text()
    assert cpage.locator(".cm-outcome").get_attribute("data-outcome") == "acknowledged"
    assert cpage.locator(".cm-outcome strong").count() >= 1


def test_spam_hidden_with_reason_appealed_and_restored(
    site: Site, smtp_server: Any, boss: Any, make_staff: Any, make_customer: Any
) -> None:
    org = boss.org
    moderator = make_staff(Role.MANAGER, email="marc@lumiere.example")
    author = make_customer(org, first_name="Paul", email="paul.spam@example.net", phone="")
    with tenancy.tenant_context(org):
        post = services.create_post(author, kind="review", text=SPAM, display_name="Paul", rating=5)

    # ---- a manager hides it for a listed reason
    page = site.new_page()
    login(page, site, moderator.email)
    visit(page, site("community:thread", pk=post.pk))
    hide = page.locator("#hide-form")
    offered = hide.locator("select[name=reason] option").evaluate_all(
        "els => els.map(e => e.value).filter(Boolean)"
    )
    assert offered == [
        "insult_harassment",
        "hate",
        "spam_advertising",
        "personal_data",
        "illegal",
    ]
    hide.locator("select[name=reason]").select_option("spam_advertising")
    _submit(page, hide)
    # A second step: the confirmation page, with what the reason covers (not criticism here).
    confirm = page.locator("#hide-confirm-form")
    assert confirm.locator("#reason-spam_advertising").is_checked()
    assert page.locator("#criticism-warning").count() == 0
    _submit(page, confirm, "[data-action=confirm-hide]")
    assert page.locator("#post").get_attribute("data-hidden") == "true"
    assert page.locator("#post-text").inner_text().strip() == SPAM  # kept, unchanged

    # ---- the public page shows a placeholder with the reason, not the text
    visitor = site.new_page()
    visit(visitor, site("public:community_post", slug=org.slug, pk=post.pk))
    placeholder = visitor.locator(".cm-placeholder")
    assert placeholder.get_attribute("data-placeholder") == "spam_advertising"
    assert SPAM not in visitor.locator("main").inner_text()

    # ---- the author is told, opens their space and appeals
    told = wait_mail_to(smtp_server, author.email)
    thread_link = next(u for u in links(told, site) if u.endswith(f"/community/{post.pk}/#appeal"))
    # On a phone where the space is not open: the thread offers to open it, and the emailed
    # magic link brings the author back to the post.
    apage = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    visit(apage, thread_link)
    with apage.expect_navigation():
        apage.locator("[data-own-prompt] a").click()
    apage.locator("main form input[name=email]").fill(author.email)
    with apage.expect_navigation():
        apage.locator("main form button[type=submit]").click()
    portal_mail = wait_mail_to(smtp_server, author.email, count=2)
    magic = next(u for u in links(portal_mail, site) if "/space/open/" in u)
    visit(apage, magic)
    with apage.expect_navigation():
        apage.locator("main form[method=post] button[type=submit]").first.click()
    assert apage.url == site("public:community_post", slug=org.slug, pk=post.pk)
    appeal = apage.locator("form[data-form=appeal]")
    appeal.locator("textarea").fill("Je voulais juste partager une bonne affaire.")
    _submit(apage, appeal)
    with tenancy.tenant_context(org):
        item = Appeal.objects.get(post=post)
    assert item.decision == "pending"

    # ---- the manager may not restore it now; the owner upholds the appeal
    visit(page, site("community:thread", pk=post.pk))
    assert page.locator("#restore-form").count() == 0
    opage = site.new_page()
    login(opage, site, boss.email)
    visit(opage, site("community:inbox") + "?show=appeals")
    assert opage.locator(f"#inbox li[data-post='{post.pk}']").count() == 1
    visit(opage, site("community:thread", pk=post.pk))
    decide = opage.locator(f"#appeal-form-{item.pk}")
    _submit(opage, decide, "button[value=upheld]")
    assert opage.locator("#post").get_attribute("data-hidden") == "false"

    # ---- the text is visible again on the public page; the author is told
    visit(visitor, site("public:community_post", slug=org.slug, pk=post.pk))
    assert visitor.locator(".cm-placeholder").count() == 0
    assert SPAM in visitor.locator("main").inner_text()
    wait_mail_to(smtp_server, author.email, count=2)
