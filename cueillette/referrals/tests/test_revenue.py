"""Revenue brought by referred customers: their first year only, refunds deducted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer
from cueillette.loyalty import services as loyalty
from cueillette.referrals.queries import first_year_revenue

pytestmark = pytest.mark.django_db


def test_first_year_revenue_counts_the_first_365_days_net_of_refunds(
    org: Organization, other_org: Organization
) -> None:
    actor = Actor.system("test")
    now = timezone.now()
    joined = now - dt.timedelta(days=500)
    with tenant_context(org):
        loyalty.get_program()
        friend = CustomerFactory(organization=org)
        quiet = CustomerFactory(organization=org)
        Customer.objects.filter(pk__in=[friend.pk, quiet.pk]).update(created_at=joined)
        card = loyalty.join_program(friend, actor=actor, now=joined)
        loyalty.join_program(quiet, actor=actor, now=joined)
        first = loyalty.record_purchase(
            card, amount="40.00", actor=actor, occurred_at=joined + dt.timedelta(days=10)
        )
        loyalty.record_purchase(
            card, amount="25.50", actor=actor, occurred_at=joined + dt.timedelta(days=364)
        )
        # After the first year: not counted.
        loyalty.record_purchase(
            card, amount="99.00", actor=actor, occurred_at=joined + dt.timedelta(days=366)
        )
        loyalty.refund_purchase(first, amount="10.00", actor=actor)

        assert first_year_revenue([friend.pk, quiet.pk]) == {friend.pk: 5550}
        assert first_year_revenue([]) == {}
    with tenant_context(other_org):
        # Another organization's purchases are out of reach even by id.
        assert first_year_revenue([friend.pk]) == {}
