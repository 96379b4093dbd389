"""The owner reviews a flagged referral on a phone, then looks at the advocate's tree."""

from __future__ import annotations

from typing import Any

import pytest

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.loyalty import services as loyalty
from cueillette.referrals import services
from cueillette.referrals.models import Referral

from .conftest import Site, login, visit

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_owner_reviews_flagged_referral_and_sees_tree(
    site: Site, boss: Any, make_customer: Any
) -> None:
    org = boss.org
    system = Actor.system("browser test")
    claire = make_customer(
        org, email="claire.ref@example.net", first_name="Claire", phone="+33611223344"
    )
    paul = make_customer(org, email="paul.ref@example.net", first_name="Paul", phone="+33655443322")
    with tenancy.tenant_context(org):
        # make_customer records the loyalty consent: both have their card already.
        card = loyalty.open_card_for(paul)
        assert card is not None and loyalty.open_card_for(claire) is not None
        loyalty.record_purchase(card, amount="12", actor=system)  # already a customer
        referral = services.record_referral(claire, paul, source="counter", actor=system)
    assert referral.under_review

    page = site.new_page(viewport=PHONE)
    login(page, site, boss.email)
    visit(page, site("referrals:review"))
    box = page.locator(f'[data-referral="{referral.pk}"]')
    box.locator("input[name=reason]").fill("Paul says Claire sent him")
    with page.expect_navigation():
        box.locator("button[value=confirm]").click()
    with tenancy.tenant_context(org):
        referral = Referral.objects.get(pk=referral.pk)
    assert not referral.under_review
    visit(page, site("referrals:advocate", pk=claire.pk))
    assert page.locator(f'#referral-tree [data-node="{paul.pk}"]').count() == 1
