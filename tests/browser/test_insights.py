"""The owner reads the insights pages on a laptop and a phone: charts drawn by our own server
(SVG, no third-party request), each readable as a table, and no axe violation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.insights import services
from cueillette.insights.models import CustomerScore
from cueillette.insights.tests.test_refresh_and_pages import simulated_shop

from .conftest import PHONE, Site, axe_audit, login, visit

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(boss: Any) -> Any:
    org = boss.org
    with tenancy.tenant_context(org):
        simulated_shop(org, n=60)
        services.refresh(actor=Actor.system("browser test"), now=timezone.now())
        change = services.save_change(
            services.ChangeInput(
                title="Navette gratuite arrêtée",
                occurred_on=(timezone.now() - dt.timedelta(weeks=30)).date(),
            ),
            actor=Actor.system("browser test"),
        )
        score = CustomerScore.objects.filter(purchases__gt=2).first()
    return {"org": org, "change": change, "score": score}


def test_owner_reads_segments_model_lost_revenue_and_cohorts(
    site: Site, boss: Any, shop: Any
) -> None:
    page = site.new_page()
    login(page, site, boss.email)
    visit(page, site("insights:overview"))
    assert page.locator("#rfm-grid td a").count() == 25
    assert page.locator("#segments-table tbody tr").count() == 9
    problems = axe_audit(page)

    visit(page, site("insights:model"))
    chart = page.locator("svg#chart-holdout")
    assert chart.count() == 1 and chart.get_attribute("role") == "img"
    assert page.locator("#holdout-table tbody tr").count() >= 2  # the same figures as a table
    assert page.locator("#bgnbd-params tr[data-param]").count() == 4
    problems += axe_audit(page)

    for name in ("insights:lost", "insights:cohorts", "insights:at_risk", "insights:changes"):
        visit(page, site(name))
        problems += axe_audit(page)
    visit(page, site("insights:change", pk=shop["change"].pk))
    assert page.locator("svg#chart-trend").count() == 1
    page.locator("#trend-table").first.wait_for(state="attached")
    problems += axe_audit(page)
    visit(page, site("insights:customer", pk=shop["score"].customer_id))
    assert "%" in page.locator("[data-p-alive] strong").inner_text()
    problems += axe_audit(page)
    assert not problems, "\n\n".join(problems)


def test_segments_on_a_phone_lead_to_a_printable_call_list(
    site: Site, boss: Any, shop: Any
) -> None:
    page = site.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(page, site, boss.email)
    visit(page, site("insights:overview"))
    page.locator("#segments-table tbody a").first.click()
    page.wait_for_load_state()
    assert "/app/insights/segments/" in page.url
    problems = axe_audit(page)
    visit(page, site("insights:cohorts"))
    assert page.locator("#cohort-heatmap tbody tr").count() >= 1
    problems += axe_audit(page)
    assert not problems, "\n\n".join(problems)
