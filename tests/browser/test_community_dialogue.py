"""Issue 10 on a phone (390 px): criticism cannot be buried in one click, and a thread is a
dialogue.

(a) A manager tries to hide a complaint: the confirmation page says criticism is not abuse and
    refuses to hide without the exact passage; with it, the public stub keeps the author, the
    date, the kind and the reason in words.
(b) The author answers the business in the thread, marks the complaint resolved, then
    withdraws it: a stub "withdrawn by its author" stays, the business's reply too.
"""

from __future__ import annotations

from typing import Any

import pytest

from cueillette.accounts.models import Membership, Role
from cueillette.community import services
from cueillette.community.models import Post, Reply
from cueillette.core import tenancy

from .conftest import PHONE, Site, axe_audit, login, visit
from .pages import open_space

pytestmark = pytest.mark.browser

COMPLAINT = "La navette gratuite du samedi n'existe plus, je ne peux plus venir faire mes courses."


@pytest.fixture(autouse=True, scope="module")
def _warm_analysis() -> None:
    from cueillette.community import analysis

    analysis.analyse("Bon accueil, merci.", lemmatizer="lookup")


def _phone(site: Site) -> Any:
    return site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)


def _submit(page: Any, form: Any, button: str = "button[type=submit]") -> None:
    with page.expect_navigation(timeout=30_000):
        form.locator(button).first.click()


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


def test_hiding_a_complaint_needs_the_exact_passage_and_leaves_a_full_stub(
    site: Site, boss: Any, make_staff: Any, make_customer: Any
) -> None:
    org = boss.org
    moderator = make_staff(Role.MANAGER, email="modo@lumiere.example")
    author = make_customer(org, first_name="Odile", email="odile@example.net")
    with tenancy.tenant_context(org):
        post = services.create_post(
            author, kind="complaint", text=COMPLAINT, display_name="Odile B."
        )

    page = _phone(site)
    login(page, site, moderator.email)
    visit(page, site("community:thread", pk=post.pk))
    hide = page.locator("#hide-form")
    hide.locator("select[name=reason]").select_option("insult_harassment")
    _submit(page, hide)
    # ---- the confirmation: the reason's definition, the criticism warning, the passage
    assert page.locator("#criticism-warning").is_visible()
    assert "Criticism is not abuse" in page.locator("#criticism-warning").inner_text() or (
        "Une critique n'est pas un abus" in page.locator("#criticism-warning").inner_text()
    )
    assert page.locator("[data-definition=insult_harassment]").is_visible()
    assert page.locator("#reason-insult_harassment").is_checked()
    _no_sideways_scroll(page)
    assert axe_audit(page) == []
    confirm = page.locator("#hide-confirm-form")
    _submit(page, confirm, "[data-action=confirm-hide]")  # no passage: refused
    error = page.locator("#hide-error")
    assert error.get_attribute("data-field") == "passage"
    assert page.locator("#hide-passage").get_attribute("aria-invalid") == "true"
    with tenancy.tenant_context(org):
        assert not Post.objects.get(pk=post.pk).hidden
    page.locator("#hide-passage").fill("le monde entier est nul")  # not in the text
    _submit(page, page.locator("#hide-confirm-form"), "[data-action=confirm-hide]")
    assert page.locator("#hide-error").get_attribute("data-code") == "passage_not_found"
    page.locator("#hide-passage").fill("je ne peux plus venir")
    _submit(page, page.locator("#hide-confirm-form"), "[data-action=confirm-hide]")
    assert page.locator("#post").get_attribute("data-hidden") == "true"

    # ---- the public stub, on a phone: author, date, kind and reason in words
    visitor = _phone(site)
    visit(visitor, site("public:community_post", slug=org.slug, pk=post.pk) + "?lang=en")
    stub = visitor.locator(".cm-placeholder")
    assert stub.get_attribute("data-criticism") == "1"
    by = stub.locator("[data-stub-by]").inner_text()
    assert by.startswith("Complaint by Odile B., posted on"), by
    reason = stub.locator("[data-stub-reason]").inner_text()
    assert "Insult or harassment" in reason and "attack a person" in reason
    assert COMPLAINT not in visitor.locator("main").inner_text()
    _no_sideways_scroll(visitor)
    visit(visitor, site("public:community", slug=org.slug) + "?lang=en")
    assert "including 1 criticism hidden" in visitor.locator("main").inner_text()


def test_the_author_answers_resolves_and_withdraws(
    site: Site, boss: Any, make_customer: Any
) -> None:
    org = boss.org
    author = make_customer(org, first_name="Basile", email="basile@example.net")
    with tenancy.tenant_context(org):
        post = services.create_post(
            author, kind="complaint", text=COMPLAINT, display_name="Basile R."
        )
        membership = Membership.objects.get(user=boss.user, organization=org)
        services.reply(post, membership, text="Nous remettons la navette le samedi dès mars.")
    thread = site("public:community_post", slug=org.slug, pk=post.pk)

    page = _phone(site)
    open_space(site, page, org, author)
    visit(page, thread)
    # ---- the author answers the business in the thread
    answer = page.locator("form[data-form=answer]")
    answer.locator("textarea[name=text]").fill("Merci ! Et le mardi, ce serait possible ?")
    answer.locator("input[name=display_name]").fill("Basile R.")
    _submit(page, answer, "[data-action=answer]")
    with tenancy.tenant_context(org):
        mine = Reply.objects.get(post=post, author_role="customer")
    article = page.locator(f"#reply-{mine.pk}")
    assert article.get_attribute("data-by") == "customer"
    assert "le mardi" in article.inner_text()
    assert page.locator("[data-by=business]").count() == 1
    _no_sideways_scroll(page)
    # ---- marks it resolved, and could open it again
    _submit(page, page.locator("#resolve"), "[data-action=resolved]")
    assert page.locator("#resolve [data-action=reopen]").is_visible()
    with tenancy.tenant_context(org):
        assert Post.objects.get(pk=post.pk).status == "resolved"
    assert axe_audit(page) == []
    # ---- withdraws it: a confirmation, then the stub; the business's reply stays
    with page.expect_navigation():
        page.locator("[data-action=withdraw]").click()
    _submit(page, page.locator("main form"), "[data-action=confirm-withdraw]")
    assert page.url.startswith(thread)
    assert page.locator("[data-withdrawn]").is_visible()
    assert COMPLAINT not in page.locator("main").inner_text()
    assert "navette le samedi dès mars" in page.locator("main").inner_text()
    assert page.locator("form[data-form=answer]").count() == 0
