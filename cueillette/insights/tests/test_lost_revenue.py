"""The lost-revenue report against a fixture computed by hand, through the page and the API.

Five lapsed customers, two purchases each one "month" (365.25/12 days, exact to the second)
apart, so each brings exactly the amount of one purchase a month (their spending divided by
first purchase -> one usual gap after the last = 2 months):

* Aurore 100 + 100 and Bastien 50 + 50, linked to "Free bus stopped": 150 a month, 2 customers;
* Capucine 60 + 60, reason "prices" chosen by staff: 60 a month;
* Dorian 80 + 80, reason "moved" then removed (he came back in words): no reason;
* Faustine bought once (40), 200 days ago: her gap is the regular customers' (one month), so
  she lapsed too; one month of value: 40; no reason.
Eloïse bought 10 days ago: not lapsed, not in the report. Total: 330 a month.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from cueillette.apikeys.services import create_api_key
from cueillette.core.audit import Actor
from cueillette.core.tenancy import tenant_context
from cueillette.insights import queries, services
from cueillette.insights.models import BusinessChange, LeaveReason

from .conftest import MONTH, NOW, buy, customer

DAY = dt.timedelta(days=1)


@pytest.fixture
def world(org: Any, owner: Any) -> dict[str, Any]:
    with tenant_context(org):
        staff = Actor.staff(owner, "owner")
        services.reasons()
        bus_day = (NOW - 120 * DAY).date()
        people = {}
        for first, amount, last_at in (
            ("Aurore", 100, NOW - 121 * DAY),
            ("Bastien", 50, NOW - 118 * DAY),
            ("Capucine", 60, NOW - 230 * DAY),
            ("Dorian", 80, NOW - 210 * DAY),
        ):
            c = customer(org, first, "Zlostfixture")
            buy(c, amount, last_at - MONTH)
            buy(c, amount, last_at)
            people[first] = c
        people["Faustine"] = customer(org, "Faustine", "Zlostfixture")
        buy(people["Faustine"], 40, NOW - 200 * DAY)
        people["Eloise"] = customer(org, "Eloïse", "Zlostfixture")
        buy(people["Eloise"], 30, NOW - 40 * DAY)
        buy(people["Eloise"], 30, NOW - 10 * DAY)
        services.refresh(actor=staff, now=NOW)
        bus = services.save_change(
            services.ChangeInput(title="Free bus stopped", occurred_on=bus_day), actor=staff
        )
        around = {s.customer_id for s in queries.stopped_around(bus)}
        assert around == {people["Aurore"].pk, people["Bastien"].pk}
        services.link_change(bus, sorted(around), actor=staff)
        reasons = {r.code: r for r in LeaveReason.objects.all()}
        services.attach_reason(people["Capucine"], actor=staff, reason=reasons["prices"])
        services.attach_reason(people["Dorian"], actor=staff, reason=reasons["moved"])
        services.clear_reason(people["Dorian"], actor=staff)
    return {"people": people, "bus": bus}


def test_report_groups_lapsed_customers_by_reason_with_their_monthly_revenue(
    org: Any, world: dict[str, Any]
) -> None:
    with tenant_context(org):
        groups = {g.key: g for g in queries.lost_revenue("en")}
    bus = world["bus"]
    assert set(groups) == {f"change:{bus.pk}", "reason:prices", "none"}
    assert groups[f"change:{bus.pk}"].count == 2
    assert groups[f"change:{bus.pk}"].monthly == Decimal("150.00")
    assert groups["reason:prices"].monthly == Decimal("60.00")
    assert groups["reason:prices"].label == "Prices"
    assert groups["none"].count == 2
    assert groups["none"].monthly == Decimal("120.00")  # Dorian 80 + Faustine 40
    assert list(groups)[-1] == "none"  # "no reason yet" comes last


def test_report_page_shows_the_figures_and_their_definitions(
    org: Any, world: dict[str, Any], owner_client: Any
) -> None:
    page = owner_client.get("/app/insights/lost-revenue/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-group="change:{world["bus"].pk}" data-count="2" data-monthly="150.00"' in html
    assert "Free bus stopped" in html
    assert "5 lapsed customers used to bring" in html
    assert "330.00" in html
    assert "times the customer's usual gap" in html  # the definition of "lapsed" is there
    assert "Eloïse" not in html


def test_report_api_gives_the_same_figures(org: Any, world: dict[str, Any], client: Any) -> None:
    with tenant_context(org):
        _key, raw = create_api_key("till", "read", actor=Actor.system("test"))
    response = client.get("/api/v1/insights/lost-revenue", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    body = response.json()
    assert body["total_monthly_revenue"] == "330.00"
    by_key = {g["key"]: g for g in body["groups"]}
    assert by_key[f"change:{world['bus'].pk}"]["monthly_revenue"] == "150.00"
    assert by_key[f"change:{world['bus'].pk}"]["change_date"] == str(world["bus"].occurred_on)
    assert sorted(by_key["none"]["customer_ids"]) == sorted(
        [world["people"]["Dorian"].pk, world["people"]["Faustine"].pk]
    )


def test_change_page_shows_revenue_before_and_after_and_who_stopped(
    org: Any, world: dict[str, Any], owner_client: Any
) -> None:
    page = owner_client.get(f"/app/insights/changes/{world['bus'].pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="chart-trend"' in html and 'id="trend-table"' in html
    for name in ("Aurore", "Bastien"):
        assert name in html
    assert "Capucine" not in html


def test_link_only_reaches_customers_who_stopped_around_the_change(
    org: Any, world: dict[str, Any], owner: Any
) -> None:
    with tenant_context(org), pytest.raises(services.ServiceError):
        services.link_change(
            BusinessChange.objects.get(pk=world["bus"].pk),
            [world["people"]["Eloise"].pk],
            actor=Actor.staff(owner, "owner"),
        )
