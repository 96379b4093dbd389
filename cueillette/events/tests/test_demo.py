"""The demo's sessions: the shop's full tasting with a waiting list, past attendance."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.events import queries, services
from cueillette.events.models import Registration, RegStatus, Session


@pytest.mark.django_db
def test_demo_sessions_tell_a_story_and_never_overbook() -> None:
    call_command("load_demo", stdout=StringIO())
    shop = Organization.objects.get(slug="epicerie-voisine")
    practice = Organization.objects.get(slug="cabinet-martin")
    with tenancy.tenant_context(shop):
        tasting = Session.objects.get(title__startswith="Dégustation")
        assert services.seats_taken(tasting) == tasting.capacity
        assert len(services.waiting(tasting)) == 4
        for s in Session.objects.all():
            assert services.seats_taken(s) <= s.capacity
    with tenancy.tenant_context(practice):
        weekly = list(Session.objects.filter(series__isnull=False))
        assert len(weekly) == 10
        past = [s for s in weekly if s.ends_at <= timezone.now()]
        figures = queries.figures(past)
        assert figures.attended > 0 and figures.no_shows > 0
        assert 0.5 < (figures.attendance_rate or 0) < 0.95
        assert not Registration.objects.filter(status=RegStatus.PENDING).exists()
