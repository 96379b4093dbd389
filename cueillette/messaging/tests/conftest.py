"""Fixtures of the messaging tests: consents at given times, a gate without quiet hours."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer
from cueillette.messaging.models import PressureSettings


def consent(
    customer: Customer, purpose: str, granted: bool = True, *, at: dt.datetime | None = None
) -> Any:
    """A ledger entry (news by email counts as confirmed: the double opt-in is tested elsewhere)."""
    evidence = {"double_opt_in_confirmed_at": "2026-01-01T00:00:00+00:00"} if granted else {}
    return customer_services.record_consent(
        customer,
        purpose,
        granted,
        source="counter",
        actor=Actor.system("test"),
        evidence=evidence,
        occurred_at=at,
    )


@pytest.fixture
def no_quiet(tenant: Organization) -> PressureSettings:
    """Quiet hours off, so a test run at night is not deferred (they have their own tests)."""
    return PressureSettings.objects.create(
        quiet_start=dt.time(0), quiet_end=dt.time(0), per_second=1000
    )
