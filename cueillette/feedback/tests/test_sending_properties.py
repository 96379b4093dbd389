"""Properties of sending over random purchase timelines, and two runs racing each other.

Hypothesis draws customers with purchases and visits at random times and runs of the task at
random times, with random settings; whatever happens: never two surveys to one customer within
the interval, never a survey before the delay has passed, only sampled purchases, and each
survey under the customer's FEEDBACK grant.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.tests.factories import OrganizationFactory
from cueillette.feedback import services
from cueillette.feedback.models import Survey
from cueillette.loyalty.tests.test_concurrency import race_database, run_parallel

from .conftest import make_member, make_purchase

ACTOR = Actor.system("feedback property test")
HOURS = 24 * 240  # the timelines span 240 days

timeline = st.fixed_dictionaries(
    {
        "purchases": st.lists(
            st.lists(st.integers(0, HOURS), min_size=1, max_size=8), min_size=1, max_size=3
        ),
        "runs": st.lists(st.integers(0, HOURS + 24 * 10), min_size=1, max_size=12),
        "delay_hours": st.sampled_from([0, 1, 24, 72]),
        "rate": st.sampled_from([0, 35, 100]),
        "min_days": st.sampled_from([7, 30, 90]),
    }
)


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=timeline)
def test_random_timelines_never_break_the_rules(case: dict[str, Any]) -> None:
    org = OrganizationFactory()
    base = timezone.now() - dt.timedelta(hours=HOURS + 24 * 11)
    with tenancy.tenant_context(org):
        services.update_settings(
            services.SettingsChange(
                delay_hours=case["delay_hours"],
                sampling_rate=case["rate"],
                min_days_between=case["min_days"],
            ),
            actor=ACTOR,
        )
        purchases = {}
        for offsets in case["purchases"]:
            _customer, card = make_member(org)
            for h in offsets:
                p = make_purchase(card, base + dt.timedelta(hours=h))
                purchases[p.pk] = p
        for h in sorted(case["runs"]):
            services.send_due(base + dt.timedelta(hours=h))
        surveys = list(Survey.objects.select_related("consent").order_by("sent_at", "id"))
        by_customer: dict[int, list[Survey]] = {}
        for s in surveys:
            by_customer.setdefault(s.customer_id, []).append(s)
            p = purchases[s.purchase_id]
            assert s.sent_at - p.occurred_at >= dt.timedelta(hours=case["delay_hours"])
            assert services.sampled(org.pk, p.pk, case["rate"])
            assert s.consent.customer_id == s.customer_id
            assert s.consent.purpose == "feedback" and s.consent.granted
        for rows in by_customer.values():
            for a, b in itertools.pairwise(rows):
                assert b.sent_at - a.sent_at >= dt.timedelta(days=case["min_days"])
        if case["rate"] == 0:
            assert surveys == []
        assert len({s.purchase_id for s in surveys}) == len(surveys)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_one_survey_per_customer() -> None:
    org = OrganizationFactory()
    with tenancy.tenant_context(org):
        at = timezone.now() - dt.timedelta(days=2)
        for _i in range(4):
            _customer, card = make_member(org)
            # Several due purchases per customer: each run would like to survey every one.
            for h in (0, 1, 2):
                make_purchase(card, at + dt.timedelta(hours=h))
        services.get_settings()
    now = timezone.now()
    with race_database():
        results = run_parallel(org, [lambda: services.send_due(now)] * 4)
        assert all(kind == "ok" for kind, _r in results), results
        assert sum(r.sent for _k, r in results) == 4

        def count() -> tuple[int, int]:
            rows = list(Survey.objects.values_list("customer_id", flat=True))
            return len(rows), len(set(rows))

        [(_kind, (total, customers))] = run_parallel(org, [count])
        assert (total, customers) == (4, 4)
