"""Invariants of the consent ledger, for any sequence of grants and withdrawals.

* The derived state of a purpose (``services.consent_state`` and ``queries.with_consents``)
  is the last entry for it, ordered by ``occurred_at`` then id; ties in time are common
  (imports, merges) and resolved by id.
* A withdrawn purpose never appears in ``queries.contactable(purpose)``.
* Merging two records keeps every entry of both; the survivor's state is the latest of both.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import queries, services
from cueillette.customers.models import ConsentEvent, Customer, Purpose

pytestmark = pytest.mark.django_db

BASE = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
ACTOR = Actor.system("property test")
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# (purpose, granted, minute offset): few distinct minutes, so equal times happen often.
entry = st.tuples(st.sampled_from(Purpose.values), st.booleans(), st.integers(0, 4))
entries = st.lists(entry, max_size=25)


def record(customer: Customer, purpose: str, granted: bool, minute: int) -> None:
    when = BASE + dt.timedelta(minutes=minute)
    evidence = None
    if granted and purpose == Purpose.NEWS_EMAIL:
        # Recorded directly only with the proof of the double opt-in.
        evidence = {"double_opt_in_confirmed_at": when.isoformat()}
    result = services.record_consent(
        customer,
        purpose,
        granted,
        source="import",
        actor=ACTOR,
        evidence=evidence,
        occurred_at=when,
    )
    assert isinstance(result, ConsentEvent)


def expected_state(seq: list[tuple[str, bool, int]]) -> dict[str, bool | None]:
    """The model: per purpose, the value of the entry with the greatest (time, position)."""
    state: dict[str, bool | None] = dict.fromkeys(Purpose.values)
    best: dict[str, tuple[int, int]] = {}
    for position, (purpose, granted, minute) in enumerate(seq):
        key = (minute, position)
        if purpose not in best or key > best[purpose]:
            best[purpose] = key
            state[purpose] = granted
    return state


def ledger_latest(customer: Customer) -> dict[str, ConsentEvent | None]:
    """Straight from the rows: the last entry by (occurred_at, id), computed in Python."""
    out: dict[str, ConsentEvent | None] = dict.fromkeys(Purpose.values)
    rows = sorted(
        ConsentEvent.objects.filter(customer=customer), key=lambda e: (e.occurred_at, e.pk)
    )
    for event in rows:
        out[event.purpose] = event
    return out


def check_derived_state(customer: Customer, expected: dict[str, bool | None]) -> None:
    state = services.consent_state(customer)
    latest = ledger_latest(customer)
    annotated = queries.with_consents(Customer.objects.filter(pk=customer.pk)).get()
    for purpose in Purpose.values:
        event = state[purpose]
        assert (event.pk if event else None) == (latest[purpose].pk if latest[purpose] else None)
        value = event.granted if event is not None else None
        assert value == expected[purpose], purpose
        assert getattr(annotated, f"consent_{purpose}") == expected[purpose], purpose
        assert services.has_consent(customer, purpose) is bool(expected[purpose])


@PROPERTY_SETTINGS
@given(per_customer=st.lists(entries, min_size=1, max_size=3))
def test_state_is_the_last_entry_and_withdrawn_are_never_contactable(
    org: Organization, per_customer: list[list[tuple[str, bool, int]]]
) -> None:
    with tenancy.tenant_context(org):
        customers = [CustomerFactory(organization=org) for _ in per_customer]
        for customer, seq in zip(customers, per_customer, strict=True):
            for purpose, granted, minute in seq:
                record(customer, purpose, granted, minute)
        ids = [c.pk for c in customers]
        for customer, seq in zip(customers, per_customer, strict=True):
            check_derived_state(customer, expected_state(seq))
        for purpose in Purpose.values:
            reachable = set(
                queries.contactable(purpose).filter(pk__in=ids).values_list("pk", flat=True)
            )
            for customer, seq in zip(customers, per_customer, strict=True):
                value = expected_state(seq)[purpose]
                if value is False:
                    assert customer.pk not in reachable  # withdrawn: never contacted
                assert (customer.pk in reachable) is (value is True)


@PROPERTY_SETTINGS
@given(mine=entries, theirs=entries)
def test_merge_keeps_every_entry_and_takes_the_latest_of_both(
    org: Organization, mine: list[tuple[str, bool, int]], theirs: list[tuple[str, bool, int]]
) -> None:
    with tenancy.tenant_context(org):
        survivor = CustomerFactory(organization=org)
        other = CustomerFactory(organization=org)
        for purpose, granted, minute in mine:
            record(survivor, purpose, granted, minute)
        for purpose, granted, minute in theirs:
            record(other, purpose, granted, minute)
        before_survivor = ConsentEvent.objects.filter(customer=survivor).count()
        before_other = ConsentEvent.objects.filter(customer=other).count()
        assert before_survivor == len(mine) - skipped(mine)
        assert before_other == len(theirs) - skipped(theirs)

        services.merge_customers(survivor, other, actor=ACTOR)

        assert ConsentEvent.objects.filter(customer=other).count() == before_other
        assert ConsentEvent.objects.filter(customer=survivor).count() == (
            before_survivor + before_other
        )
        # The copies come after the survivor's own entries: on equal times they win.
        combined = [(p, g, m, 0, i) for i, (p, g, m) in enumerate(mine)] + [
            (p, g, m, 1, i) for i, (p, g, m) in enumerate(theirs)
        ]
        expected: dict[str, Any] = dict.fromkeys(Purpose.values)
        best: dict[str, tuple[int, int, int]] = {}
        for purpose, granted, minute, group, i in combined:
            key = (minute, group, i)
            if purpose not in best or key > best[purpose]:
                best[purpose] = key
                expected[purpose] = granted
        check_derived_state(survivor, expected)
        assert services.history_ids(survivor) == [survivor.pk, other.pk]
        # Every decision shows once in the survivor's ledger page.
        assert len(queries.ledger(services.history_ids(survivor))) == (
            before_survivor + before_other
        )


def skipped(seq: list[tuple[str, bool, int]]) -> int:
    """Entries record_consent leaves out: identical to the latest one (same time and value)."""
    latest: dict[str, tuple[int, bool]] = {}
    best: dict[str, tuple[int, int]] = {}
    count = 0
    for position, (purpose, granted, minute) in enumerate(seq):
        if purpose in latest and latest[purpose] == (minute, granted):
            count += 1
            continue
        key = (minute, position)
        if purpose not in best or key > best[purpose]:
            best[purpose] = key
            latest[purpose] = (minute, granted)
    return count


def test_back_dated_entries_do_not_hide_a_newer_decision(org: Organization) -> None:
    """Regression: a repeated grant at a later time must not be dropped as a duplicate."""
    with tenancy.tenant_context(org):
        customer = CustomerFactory(organization=org)
        record(customer, Purpose.LOYALTY, True, 0)
        record(customer, Purpose.LOYALTY, True, 4)  # the customer said yes again, later
        record(customer, Purpose.LOYALTY, False, 2)  # an older withdrawal, imported afterwards
        check_derived_state(customer, {**dict.fromkeys(Purpose.values), Purpose.LOYALTY: True})
