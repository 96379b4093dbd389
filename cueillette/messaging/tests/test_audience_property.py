"""The campaign page's counts and the send can never disagree: over random populations (consent
histories with withdrawals from the unsubscribe link, suppressions, pauses, "fewer", marketing
already sent or pending, hold-outs, quiet hours, a second consent required by the segment), the
audience decision that the database computes in one query gives every customer exactly the
reason the per-message gate (``gate.facts_for`` + ``rules.decide``) gives them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import services as customer_services
from cueillette.customers.models import ConsentEvent, Customer
from cueillette.messaging import audience, gate, rules
from cueillette.messaging.models import (
    Campaign,
    Delivery,
    MessageClass,
    Preference,
    PressureSettings,
    Reason,
    Segment,
    Suppression,
)

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 10, 21, 30, tzinfo=dt.UTC)

ENTRY = st.tuples(
    st.sampled_from(["news_email", "news_email", "loyalty"]),
    st.sampled_from([True, True, False]),  # granted
    st.booleans(),  # from the unsubscribe link (withdrawals only)
    st.integers(-90 * 24, 12),  # hours from now (some in the future: not in force yet)
)
PAST = st.tuples(
    st.sampled_from(["sent", "sending", "queued", "deferred", "refused", "failed"]),
    st.integers(0, 40 * 24),  # hours ago
    st.sampled_from([MessageClass.MARKETING, MessageClass.SERVICE]),
)
PERSON = st.fixed_dictionaries(
    {
        "email": st.sampled_from([True, True, True, False]),
        "entries": st.lists(ENTRY, max_size=4),
        "suppression": st.sampled_from(
            [None] * 8 + ["hard_bounce", "complaint", "unsubscribe", "cleaned_import"]
        ),
        "fewer": st.sampled_from([None, False, True]),
        "paused_days": st.sampled_from([None, -3, 5]),
        "past": st.lists(PAST, max_size=4),
    }
)


def _make(org: Organization, spec: dict[str, object], n: int) -> Customer:
    c = CustomerFactory(
        organization=org, email=f"Client{n}@Exemple.fr" if spec["email"] else "", phone=""
    )
    ids = []
    # Without an address the ledger refuses consents by email (and "no address" comes first).
    entries = spec["entries"] if spec["email"] else []
    for purpose, granted, via_link, hours in entries:  # type: ignore[attr-defined]
        entry = customer_services.record_consent(
            c,
            purpose,
            granted,
            source="unsubscribe_link" if (via_link and not granted) else "counter",
            actor=Actor.system("test"),
            evidence={"double_opt_in_confirmed_at": "2026-01-01T00:00:00+00:00"} if granted else {},
            occurred_at=NOW + dt.timedelta(hours=hours),
        )
        ids.append(entry.pk)
    if spec["suppression"]:
        Suppression.objects.create(
            channel="email", address=f"client{n}@exemple.fr", reason=spec["suppression"]
        )
    if spec["fewer"] is not None or spec["paused_days"] is not None:
        Preference.objects.create(
            customer=c,
            fewer=bool(spec["fewer"]),
            paused_until=None
            if spec["paused_days"] is None
            else NOW + dt.timedelta(days=spec["paused_days"]),  # type: ignore[arg-type]
        )
    for status, hours, klass in spec["past"]:  # type: ignore[attr-defined]
        at = NOW - dt.timedelta(hours=hours)
        Delivery.objects.create(
            customer=c,
            kind="campaign",
            klass=klass,
            channel="email",
            purpose="news_email",
            address=c.email,
            subject="s",
            status=status,
            reason=Reason.ALLOWED,
            decided_at=at,
            sent_at=at if status in ("sent", "sending") else None,
        )
    return c


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    people=st.lists(PERSON, min_size=1, max_size=6),
    cap=st.integers(0, 3),
    window=st.integers(1, 30),
    quiet=st.booleans(),
    holdout=st.sampled_from([0, 0, 30, 50]),
    also=st.sampled_from(["", "loyalty"]),
    tz=st.sampled_from(["Europe/Paris", "Pacific/Auckland", "UTC"]),
)
def test_the_set_decision_gives_each_customer_the_gates_own_reason(
    tenant: Organization,
    people: list[dict[str, object]],
    cap: int,
    window: int,
    quiet: bool,
    holdout: int,
    also: str,
    tz: str,
) -> None:
    # Each example starts from an empty organization (the tenant is shared by the examples).
    Delivery.objects.all().delete()
    Campaign.objects.all().delete()
    Segment.objects.all().delete()
    Suppression.objects.all().delete()
    Preference.objects.all().delete()
    PressureSettings.objects.all().delete()
    ConsentEvent.objects.all().delete()
    Customer.objects.all().update(status="erased")
    tenant.timezone = tz
    tenant.save(update_fields=["timezone"])
    settings_row = PressureSettings.objects.create(
        max_marketing=cap,
        window_days=window,
        quiet_start=dt.time(22) if quiet else dt.time(0),
        quiet_end=dt.time(7) if quiet else dt.time(0),
        per_second=1000,
    )
    customers = [_make(tenant, spec, n) for n, spec in enumerate(people)]
    seg = Segment.objects.create(name="s", filters={"consent": also} if also else {})
    campaign = Campaign.objects.create(
        name="c", subject_fr="s", body_fr="b", segment=seg, holdout_percent=holdout
    )
    judged = audience.judged(campaign, seg.filters, now=NOW)
    for c in customers:
        c.refresh_from_db()
        facts = gate.facts_for(
            klass=MessageClass.MARKETING,
            channel="email",
            address=c.email,
            customer=c,
            purposes=(campaign.purpose,),
            also=(also,) if also else (),
            kind="campaign",
            now=NOW,
            settings_row=settings_row,
            held_back=rules.held_back(campaign.pk, c.pk, holdout),
        )
        assert judged[c.pk] == rules.decide(facts).reason, c.pk
    counted = audience.decide_audience(campaign, now=NOW)
    listed = audience.decide_audience(campaign, now=NOW, keep_recipients=True)
    assert counted.reasons == listed.reasons and counted.total == len(customers)
    goes = {pk for pk, r in judged.items() if r in (Reason.ALLOWED, Reason.QUIET_HOURS)}
    assert set(listed.recipients) == goes
    # The send decides in batches (gate.request_campaign_batch): the same reason again.
    rows = gate.request_campaign_batch(
        [
            gate.Message(
                kind="campaign",
                klass=MessageClass.MARKETING,
                subject="s",
                text="t",
                customer=c,
                purposes=(campaign.purpose,),
                also=(also,) if also else (),
                campaign=campaign,
                held_back=rules.held_back(campaign.pk, c.pk, holdout),
            )
            for c in customers
            if c.pk in judged
        ],
        now=NOW,
    )
    assert {d.customer_id: d.reason for d in rows} == judged
