"""Helpers of the feedback tests: members with a card, purchases at given times, surveys."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.core.tokens import hash_token, new_token
from cueillette.customers import services as customer_services
from cueillette.customers.models import ConsentEvent, Customer
from cueillette.feedback import services
from cueillette.feedback.models import Survey
from cueillette.loyalty.models import Card, Purchase

ACTOR = Actor.system("feedback test")
_numbers = itertools.count(100_000_000_001)
_receipts = itertools.count(1)


def make_member(
    org: Organization,
    *,
    feedback: bool = True,
    email: str | None = "auto",
    tier_code: str = "",
    **fields: Any,
) -> tuple[Customer, Card]:
    """A customer with an open card and (by default) the FEEDBACK consent granted.

    Call inside the organization's tenant context.
    """
    n = next(_numbers)
    if email == "auto":
        email = f"member{n}@example.net"
    customer = CustomerFactory(
        organization=org, email=email or f"gone{n}@example.net", language="fr", **fields
    )
    if feedback:
        customer_services.record_consent(customer, "feedback", True, source="counter", actor=ACTOR)
    if not email:  # the address was removed after the consent was given
        Customer.objects.filter(pk=customer.pk).update(email="")
        customer.refresh_from_db()
    card = Card.objects.create(
        customer=customer,
        number=str(n)[-12:],
        opened_at=timezone.now() - dt.timedelta(days=800),
        tier_code=tier_code,
    )
    return customer, card


def make_purchase(card: Card, at: dt.datetime, amount: str = "20.00") -> Purchase:
    """A purchase row as the till would leave it (the ledger is not needed here)."""
    return Purchase.objects.create(
        card=card,
        receipt_id=f"r-{next(_receipts)}",
        amount=Decimal(amount),
        currency="EUR",
        occurred_at=at,
        points=0,
        source="counter",
    )


def make_survey(
    customer: Customer,
    *,
    sent_at: dt.datetime | None = None,
    purchase: Purchase | None = None,
    days_valid: int = 14,
    **fields: Any,
) -> tuple[Survey, str]:
    """A survey already sent, and the signed token of its link."""
    sent_at = sent_at or timezone.now()
    consent = services.current_feedback_consent(customer)
    if consent is None:
        consent = ConsentEvent.objects.filter(customer=customer).first()
    assert consent is not None, "the customer has no consent entry"
    raw = new_token()
    survey = Survey.objects.create(
        customer=customer,
        purchase=purchase,
        consent=consent,
        sent_at=sent_at,
        token_hash=hash_token(raw),
        expires_at=sent_at + dt.timedelta(days=days_valid),
        **fields,
    )
    return survey, services.survey_token(raw)


@pytest.fixture
def member(tenant: Organization) -> Callable[..., tuple[Customer, Card]]:
    def make(**kw: Any) -> tuple[Customer, Card]:
        return make_member(tenant, **kw)

    return make
