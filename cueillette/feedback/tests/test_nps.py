"""NPS figures on hand-built answers: overall, rounding, by month, by segment."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from cueillette.core.models import Organization
from cueillette.feedback import queries, services
from cueillette.feedback.models import Survey
from cueillette.loyalty.models import Tier

from .conftest import make_member, make_survey

pytestmark = pytest.mark.django_db


def answer(org: Organization, score: int, when: dt.datetime, **fields: object) -> Survey:
    customer, _card = make_member(org)
    survey, _token = make_survey(customer, sent_at=when - dt.timedelta(days=1), **fields)
    Survey.objects.filter(pk=survey.pk).update(answered_at=when, score=score)
    return survey


@pytest.mark.parametrize(
    ("promoters", "passives", "detractors", "nps"),
    [
        (5, 2, 3, 20),
        (0, 0, 0, None),
        (0, 3, 0, 0),
        (4, 0, 0, 100),
        (0, 0, 4, -100),
        (1, 7, 0, 13),  # 12.5 rounds away from zero
        (0, 7, 1, -13),
        (1, 2, 0, 33),  # 33.33
        (2, 1, 0, 67),  # 66.67
    ],
)
def test_nps_arithmetic(promoters: int, passives: int, detractors: int, nps: int | None) -> None:
    figures = queries.Nps(promoters, passives, detractors)
    assert figures.score == nps
    scores = [10] * promoters + [7] * passives + [2] * detractors
    assert queries.nps_of_scores(scores) == figures


def test_overall_on_a_hand_built_fixture(tenant: Organization) -> None:
    now = timezone.now()
    scores = [10, 10, 9, 8, 7, 6, 0, 3, 9, 10]
    for s in scores:
        answer(tenant, s, now - dt.timedelta(hours=1))
    # Unanswered surveys do not count.
    make_survey(make_member(tenant)[0])
    result = queries.overall()
    assert (result.promoters, result.passives, result.detractors) == (5, 2, 3)
    assert result.answers == 10 and result.score == 20
    assert (result.promoters_pct, result.detractors_pct) == (50, 30)


def test_by_month_in_the_organization_time_zone(tenant: Organization) -> None:
    paris = ZoneInfo("Europe/Paris")
    tenant.timezone = "Europe/Paris"
    tenant.save()
    now = dt.datetime(2025, 6, 15, 12, tzinfo=paris)
    # 31 May 23:30 in Paris is May (though already... no: 21:30 UTC, still May everywhere);
    # 1 June 00:30 in Paris is 31 May 22:30 UTC: a June answer here.
    answer(tenant, 10, dt.datetime(2025, 5, 31, 23, 30, tzinfo=paris))
    answer(tenant, 2, dt.datetime(2025, 6, 1, 0, 30, tzinfo=paris))
    answer(tenant, 9, dt.datetime(2025, 6, 10, tzinfo=paris))
    answer(tenant, 8, dt.datetime(2025, 6, 11, tzinfo=paris))
    answer(tenant, 0, dt.datetime(2024, 1, 10, tzinfo=paris))  # too old for 12 months
    months = queries.by_month(12, now=now)
    assert len(months) == 12
    assert months[-1].month == dt.date(2025, 6, 1) and months[0].month == dt.date(2024, 7, 1)
    by = {m.month: m.nps for m in months}
    assert by[dt.date(2025, 5, 1)] == queries.Nps(1, 0, 0)
    assert by[dt.date(2025, 6, 1)] == queries.Nps(1, 1, 1)
    assert by[dt.date(2025, 6, 1)].score == 0
    assert by[dt.date(2025, 4, 1)].score is None


def test_by_segment_tier_and_how_they_came(tenant: Organization) -> None:
    Tier.objects.create(code="gold", name="Or", threshold=500)
    now = timezone.now()
    answer(tenant, 10, now, tier_code="gold", came_from="referral")
    answer(tenant, 9, now, tier_code="gold", came_from="referral")
    answer(tenant, 3, now, tier_code="gold", came_from="walk_by")
    answer(tenant, 8, now, tier_code="", came_from="walk_by")
    answer(tenant, 1, now, tier_code="", came_from="")
    tiers = {s.key: s for s in queries.by_segment("tier")}
    assert tiers["gold"].label == "Or"
    assert tiers["gold"].nps == queries.Nps(2, 0, 1) and tiers["gold"].nps.score == 33
    assert tiers[""].nps == queries.Nps(0, 1, 1) and tiers[""].nps.score == -50
    came = {s.key: s for s in queries.by_segment("came_from")}
    assert came["referral"].nps.score == 100
    assert came["walk_by"].nps == queries.Nps(0, 1, 1)
    assert came[""].nps.score == -100
    assert next(s.key for s in queries.by_segment("came_from")) in ("referral", "walk_by")


def test_came_from_is_referral_when_the_referrals_app_has_one(tenant: Organization) -> None:
    from django.apps import apps

    customer, _card = make_member(tenant, heard_from="search")
    assert services.came_from(customer) == "search"
    if not apps.is_installed("cueillette.referrals"):
        return  # without the referrals app, nobody came by referral
    referral = apps.get_model("referrals", "Referral")
    referrer, _c = make_member(tenant)
    row = referral.objects.create(
        referrer=referrer,
        friend=customer,
        source="counter",
        status="pending",
        reason_code="awaiting_purchase",
        created_at=timezone.now(),
    )
    assert services.came_from(customer) == "referral"
    referral.objects.filter(pk=row.pk).update(status="rejected")
    assert services.came_from(customer) == "search"


def test_comments_filtered_by_category(tenant: Organization) -> None:
    now = timezone.now()
    s1 = answer(tenant, 10, now)
    s2 = answer(tenant, 2, now)
    answer(tenant, 7, now)
    Survey.objects.filter(pk__in=[s1.pk, s2.pk]).update(comment="un mot")
    assert {s.pk for s in queries.comments()} == {s1.pk, s2.pk}
    assert [s.pk for s in queries.comments("detractor")] == [s2.pk]
    assert [s.pk for s in queries.comments("promoter")] == [s1.pk]
    assert list(queries.comments("passive")) == []
