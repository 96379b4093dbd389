"""Factories of the events app (rows built without a current organization too)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from cueillette.core.tests.factories import OrganizationFactory, UnscopedFactory
from cueillette.events.models import Mode, Session


class SessionFactory(UnscopedFactory):
    class Meta:
        model = Session

    organization = factory.SubFactory(OrganizationFactory)
    title = factory.Sequence(lambda n: f"Yoga du soir {n}")
    mode = Mode.IN_PERSON
    location = "12 rue des Lilas, Lyon"
    starts_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=3))
    duration_minutes = 60
    capacity = 3
    waitlist_enabled = True
