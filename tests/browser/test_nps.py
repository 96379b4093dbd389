"""NPS that closes the loop: the sending task emails a survey through a real SMTP server on
loopback; the customer opens the score link on their phone, answers 3 with a comment; the owner
finds the detractor in the follow-up list with the comment and marks them contacted."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.core.models import AuditEvent
from cueillette.feedback import tasks
from cueillette.feedback.models import FollowUp, Survey
from cueillette.feedback.tests.conftest import make_member, make_purchase

from .conftest import PHONE, Site, axe_audit, login, text_body, visit, wait_mail_to

pytestmark = pytest.mark.browser

EMAIL = "odile.garnier@example.net"
COMMENT = "J'ai attendu quarante minutes malgré le rendez-vous."


def test_a_detractor_answers_from_the_email_and_the_owner_follows_up(
    site: Site, smtp_server: Any, boss: Any
) -> None:
    org = boss.org
    with tenancy.tenant_context(org):
        customer, card = make_member(org, email=EMAIL, first_name="Odile", last_name="Garnier")
        make_purchase(card, timezone.now() - dt.timedelta(days=2))

    # ---- the periodic task sends the survey (the task backend runs it, SMTP delivers it)
    tasks.send_surveys.enqueue(org.pk)
    mail = wait_mail_to(smtp_server, EMAIL)
    assert mail["List-Unsubscribe"] and "/unsubscribe/" in "".join(mail["List-Unsubscribe"].split())
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = dict((int(n), url) for n, url in re.findall(r"(\d+): (https?://\S+)", text_body(mail)))
    assert sorted(links) == list(range(11)), text_body(mail)
    assert all(url.startswith(site.url) for url in links.values())

    # ---- the customer taps "3" on their phone: the page preselects it and records nothing
    phone = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    visit(phone, links[3])
    assert phone.locator("input[name=score][value='3']").is_checked()
    with tenancy.tenant_context(org):
        assert Survey.objects.get(customer=customer).answered_at is None
    assert not axe_audit(phone), axe_audit(phone)
    phone.locator("textarea[name=comment]").fill(COMMENT)
    with phone.expect_navigation():
        phone.locator("form.survey-form button[type=submit]").click()
    thanks = phone.locator("[data-category]")
    assert thanks.get_attribute("data-category") == "detractor"
    assert thanks.get_attribute("data-invited") == "false"
    with tenancy.tenant_context(org):
        survey = Survey.objects.get(customer=customer)
    assert (survey.score, survey.comment, survey.follow_up) == (3, COMMENT, FollowUp.TO_CONTACT)

    # ---- the same link again: refused kindly, nothing changes
    visit(phone, links[9])
    assert phone.locator("[data-code=already_answered]").count() == 1

    # ---- the owner opens the follow-up list and marks the detractor contacted
    page = site.new_page()
    login(page, site, boss.email)
    visit(page, site("feedback:follow_up"))
    item = page.locator(f"[data-survey='{survey.pk}']")
    assert COMMENT in item.inner_text()
    assert item.locator(f"a[data-customer='{customer.pk}']").count() == 1
    assert not axe_audit(page), axe_audit(page)
    item.locator("select[name=status]").select_option("contacted")
    item.locator("textarea[name=note]").fill("Appelée, excuses faites, rendez-vous offert.")
    with page.expect_navigation():
        item.locator("button[type=submit]").click()
    visit(page, site("feedback:follow_up") + "?status=contacted")
    item = page.locator(f"[data-survey='{survey.pk}']")
    assert item.get_attribute("data-status") == "contacted"
    assert boss.user.display_name in item.inner_text()
    with tenancy.tenant_context(org):
        survey.refresh_from_db()
        assert survey.follow_up == FollowUp.CONTACTED and survey.follow_up_by == boss.user
        assert AuditEvent.objects.filter(action="feedback.follow_up", object_id=survey.pk).exists()
