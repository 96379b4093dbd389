"""A visitor writes a complaint on their phone, confirms it by the emailed link, sees it on the
wall; the wall and the thread pass axe-core's serious/critical checks."""

from __future__ import annotations

from typing import Any

import pytest

from cueillette.community import analysis
from cueillette.community.models import Post
from cueillette.core import tenancy

from .conftest import PHONE, Site, axe_audit, first_link, visit, wait_mail_to

pytestmark = pytest.mark.browser

EMAIL = "lea.martin@example.net"
TEXT = "Commande reçue froide, et personne n'a répondu au téléphone. https://example.org/photo"


def test_visitor_writes_a_complaint_confirms_by_email_and_sees_it(
    site: Site, smtp_server: Any, boss: Any
) -> None:
    org = boss.org
    # Publishing analyses the text: load the language tables now, not during a click.
    analysis.analyse("Bonjour, merci.", lemmatizer="lookup")
    page = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)

    visit(page, site("public:community", slug=org.slug))
    assert axe_audit(page) == []
    with page.expect_navigation():
        page.locator("main a[href$='/community/new/']").first.click()

    form = page.locator("form[data-form=community-new]")
    # Stars go with reviews: picked for a review, they clear and step aside for a complaint.
    form.locator("label[for=kind_review]").click()
    form.locator("label[for=rating_2]").click()
    form.locator("label[for=kind_complaint]").click()
    assert form.locator("#kind_complaint").is_checked()
    assert not form.locator("#rating-field").is_visible()
    assert form.locator("#rating_0").is_checked()
    form.locator("[name=text]").fill(TEXT)
    form.locator("[name=display_name]").fill("Léa M.")
    form.locator("[name=email]").fill(EMAIL)
    assert axe_audit(page) == []
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator("[data-state=draft-sent]").is_visible()
    with tenancy.tenant_context(org):
        assert Post.objects.count() == 0

    link = first_link(wait_mail_to(smtp_server, EMAIL), site)
    visit(page, link)
    with page.expect_navigation(timeout=30_000):
        page.locator("main button[data-action=confirm]").click()
    with tenancy.tenant_context(org):
        post = Post.objects.get()
    assert page.url == site("public:community_post", slug=org.slug, pk=post.pk)
    assert "Léa M." in page.locator("main").inner_text()
    customer_link = page.locator("main .cm-text a").first
    assert customer_link.get_attribute("rel") == "nofollow ugc noopener"
    assert axe_audit(page) == []
    # Their space is open: they may edit their post.
    assert page.locator("main a[href$='/edit/']").count() == 1

    visit(page, site("public:community", slug=org.slug))
    card = page.locator(f"article[data-post='{post.pk}']")
    assert card.is_visible()
    assert card.get_attribute("data-kind") == "complaint"
    assert "personne n'a répondu" in card.inner_text()
