"""The owner's view: figures against a hand-computed ledger, charts, CSV.

The fixture writes ledger rows directly (dated in chosen months) and sets each card's balance
to the sum of its rows, as the services would. Months are relative to the current one (m0),
in the organization's time zone (Europe/Paris).

Card A (open, tier "argent", visited 10 days ago), opened in m-2:
  m-2  purchase +100, welcome +10
  m-1  reward Café -30, reward Thé -10, reward Thé -10, refund -20, expiry -5
  m0   purchase +50 (00:30 local on the 1st: still the previous month in UTC), adjustment -3
  balance 82
Card B (open, no tier, visited 100 days ago), opened in m-1:
  m-1  purchase +40 (23:30 local on the last day, 30 minutes before m0 starts)
  m0   reward Café -30, then undone: correction +30
  balance 40
Card C (closed), opened in m-1: m-1 purchase +7, balance 7.

Hand-computed:
  issued      m-2 110, m-1 47, m0 50 = 207
  taken back  m-1 20
  redeemed    m-1 50, m0 0 (-30 + 30)
  expired     m-1 5
  adjusted    m0 -3
  check       207 - 20 - 50 - 5 - 3 = 129 = 82 + 40 + 7
  members 2, active 1, outstanding 82 + 40 = 122, liability 122 x 0.05 = 6.10
  redemption rate = redeemed / (issued - taken back) = 50 / 187 = 26.7 %
  rewards: Thé 2 (20 points), Café 1 (30 points; the undone one does not count)
  tiers: no tier 1, Argent 1
  new members: m-2 1, m-1 2
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from cueillette.core import tenancy
from cueillette.core.models import AuditEvent
from cueillette.core.tests.factories import CustomerFactory
from cueillette.loyalty import queries, rules
from cueillette.loyalty.models import (
    Card,
    CardStatus,
    EntryKind,
    PointsEntry,
    Program,
    Redemption,
    Reward,
    Tier,
)


def month_start(org, offset: int) -> dt.datetime:
    today = rules.local_date(timezone.now(), org.tz)
    return rules.start_of_local_day(rules.add_months(today.replace(day=1), offset), org.tz)


@pytest.fixture
def ledger(org):
    m0 = month_start(org, 0)
    m1 = month_start(org, -1)
    m2 = month_start(org, -2)
    day = dt.timedelta(days=1)
    now = timezone.now()
    with tenancy.tenant_context(org):
        Program.objects.create(name="Carte", point_value=Decimal("0.05"))
        Tier.objects.create(code="argent", name="Argent", threshold=100)
        cafe = Reward.objects.create(name="Café", cost=30)
        the = Reward.objects.create(name="Thé", cost=10)

        def card(status=CardStatus.OPEN, **kw):
            return Card.objects.create(
                customer=CustomerFactory(organization=org),
                number=rules.generate_card_number(),
                status=status,
                **kw,
            )

        def entry(c, kind, points, at, **kw):
            return PointsEntry.objects.create(
                card=c, kind=kind, points=points, occurred_at=at, **kw
            )

        def redeem(c, reward, at, cancelled=None):
            r = Redemption.objects.create(
                card=c,
                reward=reward,
                points=reward.cost,
                occurred_at=at,
                source="counter",
                cancelled_at=cancelled,
            )
            e = entry(c, EntryKind.REDEMPTION, -reward.cost, at, redemption=r)
            return r, e

        a = card(opened_at=m2 + day, tier_code="argent", last_visit_at=now - 10 * day)
        first = entry(a, EntryKind.PURCHASE, 100, m2 + 2 * day)
        entry(a, EntryKind.WELCOME, 10, m2 + day)
        redeem(a, cafe, m1 + 3 * day)
        redeem(a, the, m1 + 4 * day)
        redeem(a, the, m1 + 5 * day)
        entry(a, EntryKind.REFUND, -20, m1 + 6 * day, corrects=first)
        entry(a, EntryKind.EXPIRY, -5, m1 + 7 * day, corrects=first)
        entry(a, EntryKind.PURCHASE, 50, m0 + dt.timedelta(minutes=30))
        entry(a, EntryKind.ADJUSTMENT, -3, m0 + dt.timedelta(hours=2), reason="erreur")

        b = card(opened_at=m1 + day, last_visit_at=now - 100 * day)
        entry(b, EntryKind.PURCHASE, 40, m0 - dt.timedelta(minutes=30))
        r, e = redeem(b, cafe, m0 + dt.timedelta(hours=1), cancelled=m0 + dt.timedelta(hours=1))
        entry(
            b, EntryKind.CORRECTION, r.points, m0 + dt.timedelta(hours=1), corrects=e, redemption=r
        )

        c = card(status=CardStatus.CLOSED, opened_at=m1 + 2 * day)
        entry(c, EntryKind.PURCHASE, 7, m1 + 8 * day)

        for one in (a, b, c):
            total = sum(PointsEntry.objects.filter(card=one).values_list("points", flat=True))
            Card.objects.filter(pk=one.pk).update(balance=total)
    return {"m0": m0, "a": a, "b": b, "c": c}


def test_report_matches_hand_computed_figures(org, ledger):
    with tenancy.tenant_context(org):
        assert sorted(Card.objects.values_list("balance", flat=True)) == [7, 40, 82]
        report = queries.report()
    months = {m.month: m for m in report.months}
    today = rules.local_date(timezone.now(), org.tz).replace(day=1)
    m0, m1, m2 = today, rules.add_months(today, -1), rules.add_months(today, -2)
    assert len(report.months) == 12 and report.months[-1].month == m0
    assert (months[m2].issued, months[m1].issued, months[m0].issued) == (110, 47, 50)
    assert (months[m2].new_members, months[m1].new_members, months[m0].new_members) == (1, 2, 0)
    assert months[m1].taken_back == 20 and months[m0].taken_back == 0
    assert (months[m1].redeemed, months[m0].redeemed) == (50, 0)
    assert months[m1].expired == 5
    assert months[m0].adjusted == -3
    assert report.totals == {
        "issued": 207,
        "taken_back": 20,
        "redeemed": 50,
        "expired": 5,
        "adjusted": -3,
    }
    t = report.all_time
    assert t["issued"] - t["taken_back"] - t["redeemed"] - t["expired"] + t["adjusted"] == 129
    assert report.members == 2
    assert report.active_members == 1
    assert report.outstanding == 122
    assert report.liability == Decimal("6.10")
    assert report.redemption_rate == Decimal("26.7")
    assert [(r.name, r.count, r.points) for r in report.rewards] == [
        ("Thé", 2, 20),
        ("Café", 1, 30),
    ]
    assert [(t.code, t.count) for t in report.tiers] == [("", 1), ("argent", 1)]


def test_month_boundaries_follow_the_organization_time_zone(org, ledger):
    """Card A's 00:30 purchase on the 1st is in m0 although it is the previous month in UTC;
    card B's purchase at 23:30 the day before is in m-1."""
    early = ledger["m0"] + dt.timedelta(minutes=30)
    # Paris is ahead of UTC all year: in UTC, this instant is still in the previous month.
    assert early.astimezone(dt.UTC).month != rules.local_date(early, org.tz).month
    with tenancy.tenant_context(org):
        report = queries.report()
    assert report.months[-1].issued == 50
    assert report.months[-2].issued == 47


def test_no_data_rate_is_none(tenant):
    report = queries.report()
    assert report.redemption_rate is None
    assert report.members == 0 and report.outstanding == 0
    assert all(m.issued == 0 for m in report.months)


def test_dashboard_page_shows_charts_and_figures(org, ledger, owner_client):
    with translation.override("fr"):
        response = owner_client.get(reverse("loyalty:dashboard"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="fig-members">2<' in html
    assert 'id="fig-outstanding">122<' in html
    assert "26,7 %" in html
    assert "6,10" in html and "€" in html
    # Charts: inline SVG with a name, a number by each bar, and a data table under each.
    assert html.count('role="img"') == 6
    assert '<title id="chart-issued-title">' in html
    assert ">110</text>" in html
    assert html.count('class="chart-data"') == 6
    assert "Thé" in html and "Argent" in html
    assert (
        'style="' not in html
        and "<script>" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )


def test_dashboard_empty_state(org, owner_client):
    response = owner_client.get(reverse("loyalty:dashboard"))
    assert response.status_code == 200
    assert response.context["report"].members == 0


def test_counter_staff_cannot_see_reports(org, counter_client):
    assert counter_client.get(reverse("loyalty:dashboard")).status_code == 403
    assert counter_client.get(reverse("loyalty:dashboard_csv")).status_code == 403


def read_csv(response):
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_csv_export_figures_and_audit(org, ledger, manager_client):
    with translation.override("en"):
        response = manager_client.get(reverse("loyalty:dashboard_csv"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    m1 = rules.add_months(rules.local_date(timezone.now(), org.tz).replace(day=1), -1)
    by_month = {r[0]: r for r in rows[1:13]}
    assert by_month[m1.strftime("%Y-%m")][1:] == ["2", "47", "20", "50", "5", "0"]
    figures = {r[0]: r[1] for r in rows if len(r) == 2}
    assert figures["outstanding points"] == "122"
    assert figures["value of outstanding points (EUR)"] == "6.10"
    assert any(k.startswith("redemption rate") and v == "26.7" for k, v in figures.items())
    assert ["Thé", "2", "20"] in rows
    with tenancy.tenant_context(org):
        event = AuditEvent.objects.get(action="loyalty.report_exported")
    assert event.data["rows"] > 0


def test_csv_neutralises_formulas(org, ledger, owner_client):
    with tenancy.tenant_context(org):
        Reward.objects.filter(name="Thé").update(name='=HYPERLINK("http://evil")')
        Tier.objects.filter(code="argent").update(name="+cmd|' /C calc'!A0")
    rows = read_csv(owner_client.get(reverse("loyalty:dashboard_csv")))
    cells = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://evil")' in cells
    assert "'+cmd|' /C calc'!A0" in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    # Figures stay numbers: the negative adjustment of m0 is written -3.
    m0 = rules.local_date(timezone.now(), org.tz).replace(day=1).strftime("%Y-%m")
    assert next(r for r in rows if r and r[0] == m0)[-1] == "-3"
