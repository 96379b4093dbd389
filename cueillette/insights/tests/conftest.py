"""Fixtures of the insights tests: purchases written straight into the ledger tables (the
insights app only reads them) at exact instants."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal
from typing import Any

import pytest

from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer
from cueillette.loyalty import rules
from cueillette.loyalty.models import Card, Purchase

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
MONTH = dt.timedelta(days=365.25 / 12)
_receipts = itertools.count(1)


def card_for(customer: Customer) -> Card:
    card = Card.objects.filter(customer=customer).first()
    if card is None:
        number = rules.generate_card_number(random.Random(customer.pk))
        card = Card.objects.create(
            customer=customer, number=number, opened_at=NOW - 400 * dt.timedelta(days=1)
        )
    return card


def buy(customer: Customer, amount: Any, at: dt.datetime, **kw: Any) -> Purchase:
    return Purchase.objects.create(
        card=card_for(customer),
        receipt_id=f"T-{next(_receipts)}",
        amount=Decimal(str(amount)),
        currency="EUR",
        occurred_at=at,
        points=0,
        source="counter",
        **kw,
    )


def customer(org: Any, first: str, last: str, **kw: Any) -> Customer:
    return CustomerFactory(organization=org, first_name=first, last_name=last, **kw)


@pytest.fixture
def now() -> dt.datetime:
    return NOW
