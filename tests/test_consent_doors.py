"""Consent and its consequences, whatever the door.

Four doors record a consent: the staff customer page (the counter), the API, the customer's own
space and the import. For every purpose, a grant and a withdrawal through each door must leave
the same state and cause the same consequences: one ``CONSENT_CHANGED`` per decision; the
loyalty card issued by the grant, closed by the withdrawal (and no more points); thread mail
only with the community consent; surveys only with the feedback consent. News by email is a
double opt-in everywhere: the grant counts once the customer confirms from the email.

The import only creates customers: its "withdrawal" is a refusal recorded for a new customer,
which must leave them exactly where a withdrawal leaves anyone else.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cueillette.community import services as community
from cueillette.core import consequences, tenancy
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence, Fired, Phase
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import bulk
from cueillette.customers.models import Customer, Purpose
from cueillette.customers.services import has_consent, record_consent
from cueillette.feedback import services as feedback
from cueillette.loyalty import services as loyalty
from cueillette.loyalty.models import Card, CardStatus
from cueillette.loyalty.rules import generate_card_number
from cueillette.loyalty.tests.test_api import Till, make_key

pytestmark = pytest.mark.django_db

DOORS = ("staff_page", "api", "customer_space", "import")
PURPOSES = [str(p) for p in Purpose.values]
_emails = itertools.count(1)


@pytest.fixture(autouse=True)
def _clean_rate_counters() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def heard() -> Iterator[list[Fired]]:
    """Every CONSENT_CHANGED, as a later app (messaging, webhooks) would hear it."""
    fired: list[Fired] = []

    def listen(event: Fired) -> None:
        fired.append(event)

    consequences.subscribe(Consequence.CONSENT_CHANGED, listen, phase=Phase.IN_TRANSACTION)
    yield fired
    consequences.unsubscribe(Consequence.CONSENT_CHANGED, listen)


class Doors:
    """Records a decision through one door, as a person would use it."""

    def __init__(
        self, org: Organization, staff: Client, till: Till, capture: Any, outbox: list[Any]
    ) -> None:
        self.org = org
        self.staff = staff
        self.till = till
        self.capture = capture
        self.outbox = outbox

    def new_customer(self) -> Customer:
        n = next(_emails)
        return CustomerFactory(
            organization=self.org,
            first_name="Ysaline",
            last_name=f"Porte{n}",
            email=f"ysaline{n}@example.org",
            phone=f"+336123400{n % 100:02d}",
        )

    def decide(self, door: str, customer: Customer | None, purpose: str, granted: bool) -> Customer:
        with self.capture(execute=True):
            if door == "import":
                assert customer is None
                customer = self._import(purpose, granted)
            else:
                assert customer is not None
                getattr(self, "_" + door)(customer, purpose, granted)
        if granted and purpose == Purpose.NEWS_EMAIL:
            self._confirm_from_email(customer)
        return customer

    def _staff_page(self, customer: Customer, purpose: str, granted: bool) -> None:
        url = reverse("customers:consent", args=[customer.pk])
        action = "grant" if granted else "withdraw"
        assert self.staff.post(url, {"purpose": purpose, "action": action}).status_code == 302

    def _api(self, customer: Customer, purpose: str, granted: bool) -> None:
        body = {"purpose": purpose, "granted": granted}
        response = self.till.post(f"/customers/{customer.pk}/consents", body)
        assert response.status_code in (201, 202), response.content

    def _customer_space(self, customer: Customer, purpose: str, granted: bool) -> None:
        client = Client()
        session = client.session  # what the magic link's button leaves in the session
        session[f"portal_customer_{self.org.pk}"] = {
            "customer": customer.pk,
            "org": self.org.pk,
            "expires": time.time() + 3600,
        }
        session.save()
        decision = "give" if granted else "withdraw"
        response = client.post(
            f"/o/{self.org.slug}/space/consent/", {"purpose": purpose, "decision": decision}
        )
        assert response.status_code == 302

    def _import(self, purpose: str, granted: bool) -> Customer:
        n = next(_emails)
        row = {
            "first_name": "Ysaline",
            "last_name": f"Importée{n}",
            "email": f"import{n}@example.org",
            "phone": f"+336987600{n % 100:02d}",
            f"consent_{purpose}": "oui" if granted else "non",
        }
        with tenancy.tenant_context(self.org):
            report = bulk.import_rows(
                [row], actor=Actor.system("import test"), request_confirmations=True
            )
            assert report.created == 1, report.as_dict()
            return Customer.objects.get(email=row["email"])

    def _confirm_from_email(self, customer: Customer) -> None:
        body = self.outbox[-1].body
        match = re.search(re.escape(settings.SITE_URL) + r"(/o/\S+/confirm/\S+/)", body)
        assert match, body
        assert Client().post(match.group(1)).status_code == 200


@pytest.fixture
def doors(
    org: Organization,
    counter_client: Client,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> Doors:
    return Doors(
        org, counter_client, Till(make_key(org)), django_capture_on_commit_callbacks, mailoutbox
    )


# --------------------------------------------------------------------------- what follows


def outcome(org: Organization, customer: Customer) -> dict[str, Any]:
    """Everything a decision is expected to change, read through the apps' own gates."""
    with tenancy.tenant_context(org):
        customer = Customer.objects.get(pk=customer.pk)
        cards = list(Card.objects.filter(customer=customer).values_list("status", flat=True))
        return {
            "consent": {p: has_consent(customer, p) for p in PURPOSES},
            "open_card": cards.count(CardStatus.OPEN),
            "thread_mail": _gets_thread_mail(customer),
            "surveys": _gets_a_survey(customer),
        }


def _gets_thread_mail(customer: Customer) -> bool:
    """Would a reply to a thread they follow be emailed to them?"""
    author = CustomerFactory(organization=customer.organization, first_name="Autrice")
    post = community.create_post(author, kind="review", text="Très bon accueil", display_name="A")
    if has_consent(customer, Purpose.COMMUNITY):
        community.subscribe(post, customer)
    return customer in community.subscribers(post)


def _gets_a_survey(customer: Customer) -> bool:
    """Would their next purchase be followed by a survey?"""
    card = loyalty.open_card_for(customer)
    if card is None:
        # A survey follows a card's purchase: measure the feedback gate on a fresh card.
        card = Card.objects.create(
            customer=customer, number=generate_card_number(), opened_at=timezone.now()
        )
    purchase = loyalty.record_purchase(card, amount="12,50", actor=Actor.system("test"))
    now = timezone.now() + dt.timedelta(days=3)
    return feedback.send_survey(purchase, now=now) is not None


def given_everything(org: Organization, doors: Doors) -> Customer:
    """A customer who agreed to every purpose (a member, following a thread)."""
    customer = doors.new_customer()
    with tenancy.tenant_context(org):
        loyalty.join_program(customer, actor=Actor.system("setup"))
        for p in PURPOSES:
            evidence = {"double_opt_in_confirmed_at": "2026-01-01T00:00:00+00:00"}
            record_consent(
                customer,
                p,
                True,
                source="counter",
                actor=Actor.system("setup"),
                evidence=evidence if p == Purpose.NEWS_EMAIL else None,
            )
    return customer


def expected(purpose: str, granted: bool, before: dict[str, bool]) -> dict[str, Any]:
    consent = {**before, purpose: granted}
    return {
        "consent": consent,
        "open_card": 1 if consent[Purpose.LOYALTY] else 0,
        "thread_mail": consent[Purpose.COMMUNITY],
        # A survey needs the feedback consent (and an email address, which they have).
        "surveys": consent[Purpose.FEEDBACK],
    }


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("door", DOORS)
def test_a_grant_has_the_same_consequences_through_every_door(
    org: Organization, doors: Doors, heard: list[Fired], door: str, purpose: str
) -> None:
    customer = None if door == "import" else doors.new_customer()
    customer = doors.decide(door, customer, purpose, True)
    nothing = dict.fromkeys(PURPOSES, False)
    assert outcome(org, customer) == expected(purpose, True, nothing)
    mine = [f for f in heard if f["customer"].pk == customer.pk]
    assert [(f["purpose"], f["granted"]) for f in mine] == [(purpose, True)]
    assert mine[0].organization_id == org.pk and mine[0]["event"].pk


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("door", DOORS)
def test_a_withdrawal_has_the_same_consequences_through_every_door(
    org: Organization, doors: Doors, heard: list[Fired], door: str, purpose: str
) -> None:
    if door == "import":
        # A new customer whose file says "no": where a withdrawal leaves anyone.
        customer = doors.decide(door, None, purpose, False)
        before = dict.fromkeys(PURPOSES, False)
    else:
        customer = given_everything(org, doors)
        before = dict.fromkeys(PURPOSES, True)
        heard.clear()
        customer = doors.decide(door, customer, purpose, False)
    if purpose == Purpose.LOYALTY and door != "import":
        # The card is closed, not only the consent: the till can no longer credit it.
        with tenancy.tenant_context(org):
            [card] = Card.objects.filter(customer=customer)
            assert card.status == CardStatus.CLOSED
    assert outcome(org, customer) == expected(purpose, False, before)
    mine = [f for f in heard if f["customer"].pk == customer.pk]
    assert [(f["purpose"], f["granted"]) for f in mine] == [(purpose, False)]
