"""Capacity under REAL parallel connections: many people register for the last seats at once.

Each thread has its own connection (the loyalty concurrency helpers: on PostgreSQL the session
row lock decides; on SQLite a file copy with the production settings, whose IMMEDIATE
transactions queue the writers). Whatever the interleaving: never more seats than capacity,
everyone else on the waiting list in the order they got there, nobody twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.core.tests.factories import CustomerFactory, OrganizationFactory
from cueillette.events import services
from cueillette.events.models import Registration, RegStatus
from cueillette.events.tests.factories import SessionFactory
from cueillette.loyalty.tests.test_concurrency import (
    in_thread,
    race_database,
    run_parallel,
    unexpected,
)

PEOPLE = 12
SEATS = 5


@pytest.mark.django_db(transaction=True)
def test_parallel_registrations_never_overbook() -> None:
    cache.clear()
    org = OrganizationFactory()
    with tenancy.tenant_context(org):
        session = SessionFactory(
            organization=org, capacity=SEATS, starts_at=timezone.now() + dt.timedelta(days=1)
        )
        people = [CustomerFactory(organization=org) for _ in range(PEOPLE)]

    def register(customer: Any) -> Any:
        return lambda: (
            services.register_customer(session, customer, actor=services.public_actor()).placed
        )

    with race_database():
        results = run_parallel(org, [register(p) for p in people])
        assert not unexpected(results), results
        placed = [value for kind, value in results if kind == "ok"]
        assert sorted(placed).count("seat") == SEATS
        assert sorted(placed).count("waitlist") == PEOPLE - SEATS

        def check() -> None:
            regs = list(Registration.objects.filter(session=session))
            seats = [r for r in regs if r.status == RegStatus.CONFIRMED]
            waiting = services.waiting(session)
            assert len(seats) == SEATS
            assert len(waiting) == PEOPLE - SEATS
            assert len({r.customer_id for r in regs}) == PEOPLE
            # First come, first offered: the list's order is the order they were placed in.
            times = [(r.queued_at, r.pk) for r in waiting]
            assert times == sorted(times)
            # Cancelling one seat offers it to the head of the list, and to nobody else.
            services.cancel_registration(seats[0], actor=services.public_actor())
            offered = list(Registration.objects.filter(session=session, status="offered"))
            assert [r.pk for r in offered] == [waiting[0].pk]
            assert services.seats_taken(session) == SEATS

        in_thread(org, check)
