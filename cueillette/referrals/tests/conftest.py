from __future__ import annotations

from typing import Any

import pytest

from cueillette.core.audit import Actor
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer
from cueillette.loyalty import services as loyalty
from cueillette.loyalty.models import Card, Program
from cueillette.referrals import services
from cueillette.referrals.models import ReferralProgram


@pytest.fixture
def staff(owner: Any) -> Actor:
    return Actor.staff(owner, "owner")


@pytest.fixture
def loyalty_program(tenant: Any) -> Program:
    program = loyalty.get_program()
    program.welcome_bonus = 0
    program.points_per_euro = 1
    program.save()
    return program


@pytest.fixture
def program(tenant: Any, loyalty_program: Program) -> ReferralProgram:
    program = services.get_program()
    program.referrer_points = 100
    program.friend_points = 50
    program.min_amount = 10
    program.monthly_cap = 3
    program.burst_count = 5
    program.burst_hours = 24
    program.save()
    return program


def member(org: Any, staff: Actor, **kw: Any) -> tuple[Customer, Card]:
    c = CustomerFactory(organization=org, **kw)
    return c, loyalty.join_program(c, actor=staff)


@pytest.fixture
def alice(org: Any, staff: Actor, program: ReferralProgram) -> tuple[Customer, Card]:
    return member(org, staff, first_name="Alice", last_name="Martin")


@pytest.fixture
def bob(org: Any, staff: Actor, program: ReferralProgram) -> tuple[Customer, Card]:
    return member(org, staff, first_name="Bob", last_name="Durand")
