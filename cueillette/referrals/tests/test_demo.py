"""The referral demo data: the star advocate sent seven people, one flagged, one rejected."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.loyalty.models import Card, PointsEntry
from cueillette.referrals import queries
from cueillette.referrals.models import Referral

pytestmark = pytest.mark.django_db


def test_demo_referrals() -> None:
    call_command("load_demo", stdout=StringIO())
    practice = Organization.objects.get(slug="cabinet-martin")
    with tenant_context(practice):
        top = queries.advocates(sort="direct")[0]
        assert top.direct == 7 and top.reach >= 9
        assert Referral.objects.filter(under_review=True).count() == 1
        assert Referral.objects.filter(status="rejected").count() == 1
        assert Referral.objects.filter(status="confirmed").exists()
        for card in Card.objects.filter(entries__kind="referral").distinct():
            total = sum(PointsEntry.objects.filter(card=card).values_list("points", flat=True))
            assert card.balance == total >= 0
